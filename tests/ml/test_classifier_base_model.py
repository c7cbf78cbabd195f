"""The classifier with a base model: sentence embeddings as one more candidate, blended with the
TF-IDF model when validation (or a fixed share) says so; artifacts that keep the encoder.
Everything runs on the tiny encoder the suite builds itself."""

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from models_app.ml import artifacts, base_models
from models_app.ml import formats as F
from models_app.ml.classifier import fit, without_timings
from tests.base_model_factory import build_base_model

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = Path(__file__).resolve().parents[2]
MC, ML = "MULTI_CLASS", "MULTI_LABEL"


def read(path: Path, mode=MC) -> F.ClassifierData:
    with open(path, "rb") as fh:
        return F.read_classifier_csv(fh, mode=mode, source_name=path.name)


def inspect(folder: Path, name: str = "tiny-bert") -> base_models.BaseModel:
    return base_models.inspect_base_model(folder, name=name, source="folder")


@pytest.fixture(scope="module")
def base_model(tmp_path_factory):
    return inspect(build_base_model(tmp_path_factory.mktemp("base") / "tiny-bert"))


@pytest.fixture(scope="module")
def intents():
    """Eight CLINC150 intents, 25 training utterances each."""
    train = read(DATA / "clinc150" / "train.csv")
    chosen = sorted(set(train.labels))[:8]
    seen: dict = defaultdict(int)
    texts, labels = [], []
    for text, label in zip(train.texts, train.labels, strict=True):
        if label in chosen and seen[label] < 25:
            seen[label] += 1
            texts.append(text)
            labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def emotions():
    train = read(DATA / "goemotions" / "train.csv", ML)
    return train.texts[:300], train.labels[:300]


@pytest.fixture(scope="module")
def blended(intents, base_model):
    texts, labels = intents
    return fit(texts, labels, mode=MC, seed=0, base_model=base_model, embedding_share=0.5)


def test_it_records_the_base_model_and_its_candidates(intents, base_model):
    texts, labels = intents
    model = fit(texts, labels, mode=MC, seed=0, base_model=base_model)
    info = model.params["base_model"]
    assert info["name"] == "tiny-bert"
    assert info["sha256"] == base_model.sha256
    assert info["warning"] is None
    assert isinstance(info["used"], bool)
    assert info["used"] == (model.embedding is not None)
    # One sentence with the validation figures with and without the embeddings.
    without = info["validation_accuracy_without"]
    assert f"{without:.3f}" in info["reason"]
    assert f"{info['validation_accuracy_with']:.3f}" in info["reason"]
    assert info["reason"].startswith("Used tiny-bert" if info["used"] else "Not used")
    rows = [r for r in model.params["candidates"] if "tiny-bert embeddings" in r["features"]]
    heads = [r for r in rows if r.get("model") == "LogisticRegression"]
    assert [r["C"] for r in heads] == [10.0, 100.0]
    assert all(0 <= r["validation_accuracy"] <= 1 and r["work"] > 0 for r in heads)
    assert heads[0]["embedding_work"] > 0
    # A blend with the frozen head, then (short documents, frozen embeddings alone short of
    # the TF-IDF model) one with the fine-tuned encoder.
    blends = [r for r in rows if r["features"].startswith(("word", "char"))]
    assert blends[0]["features"].endswith("+ tiny-bert embeddings")
    tuned = info["validation_accuracy_embeddings_alone"] < without
    assert len(blends) == 1 + tuned and isinstance(info["fine_tuning"], dict) == tuned
    if tuned:
        assert blends[1]["features"].endswith("+ tiny-bert embeddings (fine-tuned)")
    assert max(b["validation_accuracy"] for b in blends) == info["validation_accuracy_with"]
    assert any(b["chosen"] for b in blends) == info["used"]
    # The blend's validation score is at least the TF-IDF model's own (share 0 would be that).
    tfidf = [r for r in model.params["candidates"] if "validation_accuracy" in r and r not in rows]
    assert without == max(r["validation_accuracy"] for r in tfidf)
    if not info["used"]:
        assert model.params["validation"]["accuracy"] == without


def test_a_fixed_share_blends_and_the_model_predicts_with_both(blended, intents):
    texts, labels = intents
    info = blended.params["base_model"]
    assert info["used"] is True and info["share"] == 0.5
    assert blended.embedding is not None and blended.embedding.share == 0.5
    assert blended.params["validation"]["accuracy"] == info["validation_accuracy_with"]
    assert sum(1 for r in blended.params["candidates"] if r.get("chosen")) == 1
    P = blended.predict_proba(texts)
    assert P.shape == (len(texts), 8)
    assert np.allclose(P.sum(axis=1), 1, atol=1e-4)
    # The embedding half changes the scores: without it, they are the TF-IDF model's alone.
    part, blended.embedding = blended.embedding, None
    try:
        plain = blended.decision_function(texts[:20])
    finally:
        blended.embedding = part
    assert not np.allclose(plain, blended.decision_function(texts[:20]))
    right = np.mean([p == g for p, g in zip(blended.predict(texts), labels, strict=True)])
    assert right > 0.9  # on its own training documents


def test_a_blended_model_round_trips_through_its_folder_and_memory(tmp_path, blended, intents):
    texts, _ = intents
    digest = artifacts.save_classifier(blended, tmp_path / "m")
    names = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"encoder.config.json", "encoder.tokenizer.json", "encoder.safetensors"} <= names
    assert {"embedding_weights.npy", "embedding_bias.npy"} <= names
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert "encoder.safetensors" in meta["files"]  # checksummed like the arrays
    spec = json.loads((tmp_path / "m" / "model.json").read_text())
    assert spec["embedding"]["share"] == 0.5
    expected = blended.predict_proba(texts)
    from_folder = artifacts.load_classifier(tmp_path / "m", sha256=digest)
    files = artifacts.ModelFiles({n: (tmp_path / "m" / n).read_bytes() for n in names})
    from_memory = artifacts.load_classifier(files, sha256=digest)
    assert np.array_equal(from_folder.predict_proba(texts), expected)
    assert np.array_equal(from_memory.predict_proba(texts), expected)
    # One encoder per process for the same files, however many models embed with it.
    assert from_folder.embedding.encoder is from_memory.embedding.encoder
    assert from_folder.params["base_model"]["used"] is True
    # A changed encoder file is caught by the checksum.
    weights = tmp_path / "m" / "encoder.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    with pytest.raises(artifacts.ArtifactError):
        artifacts.load_classifier(tmp_path / "m")


def _fit_emotions(emotions, base_model, **options):
    """Multi-label, with the embeddings' share fixed at 0.3 so the blended path always runs."""
    texts, labels = emotions
    options = {"time_budget_s": 30, **options}
    return fit(
        texts, labels, mode=ML, seed=0, base_model=base_model, embedding_share=0.3, **options
    )


def test_the_same_seed_gives_the_same_artifact_bytes(tmp_path, emotions, base_model):
    # Multi-label: its SVMs train in worker processes. (Multi-class LinearSVCs that train side by
    # side in threads share liblinear's random generator, so their last bits can differ.)
    a, b = (_fit_emotions(emotions, base_model) for _ in range(2))
    assert a.embedding is not None
    assert artifacts.save_classifier(a, tmp_path / "a") == artifacts.save_classifier(
        b, tmp_path / "b"
    )
    for name in ("encoder.safetensors", "embedding_weights.npy", "metadata.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_multi_label_blends_with_calibrated_thresholds(tmp_path, emotions, base_model):
    texts, labels = emotions
    model = fit(
        texts, labels, mode=ML, seed=0, time_budget_s=30, base_model=base_model, embedding_share=0.3
    )
    info = model.params["base_model"]
    assert info["used"] is True and "validation_micro-F1_with" in info
    assert model.params["validation"]["micro_f1_global_cut"] == info["validation_micro-F1_with"]
    assert model.platt_a.shape == (len(model.labels),)
    predicted = model.predict(texts[:50])
    assert all(len(row) >= 1 for row in predicted)  # at least one label, or the tuned cut
    digest = artifacts.save_classifier(model, tmp_path / "ml")
    loaded = artifacts.load_classifier(tmp_path / "ml", sha256=digest)
    assert np.array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    assert loaded.predict(texts[:50]) == predicted


def test_multi_label_chooses_on_validation(emotions, base_model):
    texts, labels = emotions
    model = fit(texts, labels, mode=ML, seed=0, time_budget_s=30, base_model=base_model)
    info = model.params["base_model"]
    assert info["used"] == (model.embedding is not None)
    better = info["validation_micro-F1_with"] > info["validation_micro-F1_without"]
    assert info["used"] == better
    if not better:
        assert "no better than" in info["reason"]
    assert any(r.get("features") == "tiny-bert embeddings" for r in model.params["candidates"])


def test_a_broken_base_model_trains_without_it_and_warns(tmp_path, intents):
    texts, labels = intents
    folder = build_base_model(tmp_path / "cut")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    plain = fit(texts, labels, mode=MC, seed=0)
    # Found broken (half-copied), and broken after it was found as whole.
    found_broken = inspect(folder, "cut")
    assert found_broken.problem
    broken_later = base_models.BaseModel(name="cut", source="folder", path=folder)
    for broken in (found_broken, broken_later):
        model = fit(texts, labels, mode=MC, seed=0, base_model=broken)
        info = model.params["base_model"]
        assert info["used"] is False and model.embedding is None
        assert "model.safetensors" in info["warning"] and "'cut'" in info["warning"]
        assert str(tmp_path) not in info["warning"]
        assert info["reason"].startswith("Not used")
        same = without_timings(model.params)["candidates"]
        assert same == without_timings(plain.params)["candidates"]
        assert model.params["validation"] == plain.params["validation"]


def test_without_a_base_model_nothing_changes(tmp_path, intents):
    texts, labels = intents
    model = fit(texts, labels, mode=MC, seed=0)
    assert "base_model" not in model.params and model.embedding is None
    artifacts.save_classifier(model, tmp_path / "plain")
    assert not any(
        p.name.startswith(("encoder", "embedding")) for p in (tmp_path / "plain").iterdir()
    )
    assert "embedding" not in json.loads((tmp_path / "plain" / "model.json").read_text())
    # Loading and predicting with such a model never imports torch.
    code = (
        "import sys; from models_app.ml import artifacts; "
        f"m = artifacts.load_classifier({str(tmp_path / 'plain')!r}); m.predict(['hello']); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


@pytest.fixture(scope="module")
def tuned(intents, base_model):
    texts, labels = intents
    return fit(
        texts, labels, mode=MC, seed=0, base_model=base_model, embedding_share=0.5, fine_tune=True
    )


def test_fine_tuning_trains_a_copy_of_the_encoder_and_the_model_keeps_it(tuned, base_model):
    info = tuned.params["base_model"]
    assert info["used"] is True and info["fine_tuned"] is True
    ft = info["fine_tuning"]
    assert 1 <= ft["best_epoch"] <= ft["epochs"] <= ft["epochs_planned"] and ft["work"] > 0
    assert info["validation_accuracy_fine_tuned_alone"] == max(ft["validation_scores"])
    assert "fine-tuned on the training documents" in info["reason"]
    [row] = [r for r in tuned.params["candidates"] if r["candidate"].startswith("tiny-bert fine")]
    assert row["model"] == "linear layer" and row["epochs"] == ft["epochs"]
    [chosen] = [r for r in tuned.params["candidates"] if r.get("chosen")]
    assert chosen["features"].endswith("(fine-tuned)")
    # The model's encoder learnt; the installed base model's files did not change.
    from models_app.ml import encoder

    base = encoder.Encoder.from_folder(base_model.path)
    mine = tuned.embedding.encoder
    assert mine.final and mine.files()["model.safetensors"] != base.files()["model.safetensors"]
    assert (base_model.path / "model.safetensors").read_bytes() == (
        build_base_model(base_model.path.parent / "again")
    ).joinpath("model.safetensors").read_bytes()


def test_a_fine_tuned_model_round_trips_and_predicts_as_trained(tmp_path, tuned, intents):
    texts, labels = intents
    digest = artifacts.save_classifier(tuned, tmp_path / "m")
    loaded = artifacts.load_classifier(tmp_path / "m", sha256=digest)
    assert np.array_equal(loaded.predict_proba(texts), tuned.predict_proba(texts))
    assert loaded.params["base_model"]["fine_tuned"] is True
    right = np.mean([p == g for p, g in zip(loaded.predict(texts), labels, strict=True)])
    assert right > 0.9  # on its own training documents


def test_multi_label_fine_tuning_gives_the_same_bytes_from_the_same_seed(
    tmp_path, emotions, base_model
):
    texts, labels = emotions
    a, b = (_fit_emotions(emotions, base_model, time_budget_s=60, fine_tune=True) for _ in range(2))
    assert a.params["base_model"]["fine_tuned"] is True
    assert all(len(row) >= 1 for row in a.predict(texts[:50]))
    assert artifacts.save_classifier(a, tmp_path / "a") == artifacts.save_classifier(
        b, tmp_path / "b"
    )
    assert (tmp_path / "a" / "encoder.safetensors").read_bytes() == (
        tmp_path / "b" / "encoder.safetensors"
    ).read_bytes()


def test_fine_tuning_is_tried_only_where_the_rule_and_the_budget_allow(
    intents, base_model, monkeypatch
):
    from models_app.ml import embedding_tuning as T
    from models_app.ml import encoder

    assert T.worth_trying(20, 0.49, 0.56)
    assert not T.worth_trying(20, 0.97, 0.96)  # the frozen embeddings already win
    assert not T.worth_trying(T.MAX_MEAN_PIECES + 1, 0.85, 0.95)  # long documents
    texts, labels = intents
    never = fit(texts, labels, mode=MC, seed=0, base_model=base_model, fine_tune=False)
    assert "fine_tuning" not in never.params["base_model"]
    assert not any("fine-tuned" in r["features"] for r in never.params["candidates"])
    # A budget too small for one epoch (training counted as very dear) refuses the candidate
    # and says why.
    monkeypatch.setattr(encoder, "TRAIN_WORK_PER_FLOP", 1.0)
    poor = fit(
        texts, labels, mode=MC, seed=0, base_model=base_model, fine_tune=True, time_budget_s=30
    )
    assert poor.params["base_model"]["fine_tuning"].startswith("not tried")
    [row] = [r for r in poor.params["candidates"] if r["candidate"].startswith("tiny-bert fine")]
    assert row["skipped"] == "work budget"
    assert poor.params["base_model"]["fine_tuned"] is False


def test_fine_tuning_scores_every_label_even_one_missing_from_the_fit_part(intents, base_model):
    """The last label has no training document here: it still gets a row of weights, so the
    scores line up with the TF-IDF model's."""
    from models_app.ml import embedding_tuning as T
    from models_app.ml import encoder

    texts, labels = intents
    names = sorted(set(labels))
    y = np.array([names.index(label) for label in labels])
    keep = y < len(names) - 1
    fit_texts = [t for t, k in zip(texts, keep, strict=True) if k]
    enc = encoder.Encoder.from_folder(base_model.path)
    plan = T.Plan(enc, 1000, 100)
    _, W, b, D, info = T.fine_tune(
        enc,
        fit_texts,
        y[keep],
        texts[:20],
        mode=MC,
        n_labels=len(names),
        plan=plan,
        n_epochs=1,
        seed=0,
        score=lambda D: float((D.argmax(1) == y[:20]).mean()),
    )
    assert W.shape == (len(names), enc.hidden_size) and b.shape == (len(names),)
    assert D.shape == (20, len(names)) and info["epochs"] == 1


def _assert_precision_check(blended, tmp_path, name: str, word: str) -> None:
    """The chosen blend's validation score with `name` ("bf16", "int8") embeddings is recorded,
    decides whether the model may embed so (the reason says it with `word`), and is saved."""
    from models_app.ml import encoder as E

    info = blended.params["base_model"]
    score = info[f"validation_accuracy_{name}"]
    assert abs(score - info["validation_accuracy_with"]) < 0.05
    allowed = score >= info["validation_accuracy_with"] - E.PRECISION_TOLERANCE
    assert info[name] is allowed and getattr(blended.embedding, name) is allowed
    assert (word in info["reason"]) is allowed
    artifacts.save_classifier(blended, tmp_path / "m")
    spec = json.loads((tmp_path / "m" / "model.json").read_text())
    assert spec["embedding"][name] is allowed
    assert getattr(artifacts.load_classifier(tmp_path / "m").embedding, name) is allowed


def test_bf16_embeddings_are_checked_on_validation_and_used_only_where_native(
    tmp_path, blended, intents, monkeypatch
):
    """The chosen blend's validation score with bfloat16 embeddings is recorded and decides
    whether the model may embed in bfloat16; it does so only where the device has it natively."""
    from models_app.ml import encoder as E

    texts, _ = intents
    _assert_precision_check(blended, tmp_path, "bf16", "bfloat16")

    part = blended.embedding
    calls = []
    real = part.encoder.embed
    monkeypatch.setattr(
        part.encoder, "embed", lambda *a, **k: calls.append(k["bf16"]) or real(*a, **k)
    )
    monkeypatch.setattr(part, "bf16", True)
    for native in (False, True):
        monkeypatch.setattr(E, "bf16_native", lambda native=native: native)
        blended.predict_proba(texts[:5])
    monkeypatch.setattr(part, "bf16", False)
    blended.predict_proba(texts[:5])
    assert calls == [False, True, False]


def test_int8_embeddings_are_checked_on_validation_and_used_where_bf16_is_not(
    tmp_path, blended, intents, monkeypatch
):
    """The chosen blend's validation score with int8 embeddings is recorded and decides whether
    the model may embed in int8; bfloat16, where native and allowed, comes first."""
    from models_app.ml import encoder as E

    texts, _ = intents
    _assert_precision_check(blended, tmp_path, "int8", "int8")

    part = blended.embedding
    calls = []
    real = part.encoder.embed
    monkeypatch.setattr(
        part.encoder,
        "embed",
        lambda *a, **k: calls.append((k["bf16"], k["int8"])) or real(*a, **k),
    )
    monkeypatch.setattr(part, "int8", True)
    monkeypatch.setattr(part, "bf16", True)
    for native in (False, True):
        monkeypatch.setattr(E, "bf16_native", lambda native=native: native)
        blended.predict_proba(texts[:5])
    monkeypatch.setattr(part, "int8", False)
    monkeypatch.setattr(E, "bf16_native", lambda: False)
    blended.predict_proba(texts[:5])
    assert calls == [(False, "channel"), (True, ""), (False, "")]
