"""The document classifier on small slices of public sets (tests/data): scores, determinism,
calibrated outputs, save/load, time budget and stopping."""

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from models_app.ml import artifacts
from models_app.ml import classifier as classifier_module
from models_app.ml import formats as F
from models_app.ml.classifier import TrainedClassifier, fit
from models_app.ml.errors import TrainingStopped
from models_app.ml.metrics import classification_metrics
from tests import bad_inputs

DATA = Path(__file__).resolve().parents[1] / "data"
BAD_INPUTS = bad_inputs.directory()
MC, ML = "MULTI_CLASS", "MULTI_LABEL"


def read(path: Path, mode=MC) -> F.ClassifierData:
    with open(path, "rb") as fh:
        return F.read_classifier_csv(fh, mode=mode, source_name=path.name)


def first_per_label(data: F.ClassifierData, labels: set, per_label: int):
    """The first documents of each chosen label, in file order."""
    seen: dict = defaultdict(int)
    texts, gold = [], []
    for text, label in zip(data.texts, data.labels, strict=True):
        if label in labels and seen[label] < per_label:
            seen[label] += 1
            texts.append(text)
            gold.append(label)
    return texts, gold


@pytest.fixture(scope="module")
def clinc():
    """20 CLINC150 intents, 40 training and 10 test utterances each, and a fitted model."""
    train = read(DATA / "clinc150" / "train.csv")
    test = read(DATA / "clinc150" / "test.csv")
    intents = set(sorted(set(train.labels))[:20])
    texts, labels = first_per_label(train, intents, 40)
    test_texts, test_labels = first_per_label(test, intents, 10)
    steps = []
    model = fit(
        texts,
        labels,
        mode=MC,
        seed=0,
        time_budget_s=30,
        progress=lambda fraction, step: steps.append((fraction, step)),
    )
    return model, texts, labels, test_texts, test_labels, steps


@pytest.fixture(scope="module")
def goemotions():
    """GoEmotions on six emotions (multi-label): 1,500 training and 600 test comments, fitted."""
    train = read(DATA / "goemotions" / "train.csv", ML)
    test = read(DATA / "goemotions" / "test.csv", ML)
    model = fit(train.texts[:1500], train.labels[:1500], mode=ML, seed=0, time_budget_s=30)
    return model, test.texts[:600], test.labels[:600]


def test_multi_class_accuracy_on_a_clinc_slice(clinc):
    model, _, _, test_texts, test_labels, _ = clinc
    predicted = model.predict(test_texts)
    m = classification_metrics(test_labels, predicted, mode=MC, labels=model.labels)
    # Seed 0 scores 0.955 on these 200 utterances.
    assert 0.90 <= m["Accuracy"] <= 1.0
    assert m["F1Score"] >= 0.88
    assert model.mode == MC and len(model.labels) == 20


def test_model_selection_is_recorded_and_done_on_validation(clinc):
    model, texts, *_ = clinc
    params = model.params
    assert params["model"] == "LinearSVC" and params["features"] in ("word", "word+char")
    tried = [c for c in params["candidates"] if "seconds" in c]
    assert len(tried) >= 2
    assert all(0.5 < c["validation_accuracy"] <= 1.0 for c in tried)
    best = max(c["validation_accuracy"] for c in tried)
    assert params["validation"]["accuracy"] == pytest.approx(best)
    assert 0 < params["validation_documents"] < len(texts)
    json.dumps(params)  # stored as JSON by the caller


def test_progress_reports_each_stage_in_order(clinc):
    steps = clinc[-1]
    fractions = [f for f, _ in steps]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    text = " | ".join(s for _, s in steps)
    for stage in ("vectorising", "validation accuracy", "refitting", "done"):
        assert stage in text


def test_scores_are_sorted_calibrated_probabilities(clinc):
    model, _, _, test_texts, _, _ = clinc
    scored = model.predict_scores(test_texts[:25])
    top = model.predict(test_texts[:25])
    for row, label in zip(scored, top, strict=True):
        values = [s for _, s in row]
        assert values == sorted(values, reverse=True)
        assert sum(values) == pytest.approx(1.0, abs=1e-4)
        assert {name for name, _ in row} == set(model.labels)
        assert row[0][0] == label
    # Calibrated: confident on training-like text, and the temperature was fitted.
    assert np.mean([row[0][1] for row in scored]) > 0.5
    assert model.params["temperature"] > 0


def test_same_data_same_model(tmp_path):
    data = read(BAD_INPUTS / "classifier-ok-3-labels.csv")
    a = fit(data.texts, data.labels, mode=MC, seed=0, time_budget_s=20)
    b = fit(data.texts, data.labels, mode=MC, seed=0, time_budget_s=20)
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)
    assert a.params["hyperparameters"] == b.params["hyperparameters"]
    # Timings differ between the two fits, but they stay out of the hashed files.
    assert artifacts.save_classifier(a, tmp_path / "a") == artifacts.save_classifier(
        b, tmp_path / "b"
    )
    # The BOM/CRLF copy of the file reads to the same rows, hence the same model.
    bom = read(BAD_INPUTS / "classifier-bom-crlf.csv")
    c = fit(bom.texts, bom.labels, mode=MC, seed=0, time_budget_s=20)
    assert np.array_equal(a.weights, c.weights)


def test_a_two_megabyte_document_trains():
    data = read(BAD_INPUTS / "classifier-huge-document.csv")
    model = fit(data.texts, data.labels, mode=MC, seed=0, time_budget_s=20)
    assert model.predict(["wake me up at seven"]) == ["alarm"]


def test_multi_label_micro_f1_and_thresholds(goemotions):
    model, texts, gold = goemotions
    predicted = model.predict(texts)
    m = classification_metrics(gold, predicted, mode=ML, labels=model.labels)
    # Seed 0 scores 0.83 micro F1 and 0.061 Hamming loss on these 600 comments.
    assert 0.75 <= m["MicroF1Score"] <= 1.0
    assert 0 < m["HammingLoss"] < 0.09
    params = model.params
    assert set(params["thresholds"]) == set(model.labels)
    assert all(0 < t < 1 for t in params["thresholds"].values())
    assert (
        params["validation"]["micro_f1_tuned"] >= params["validation"]["micro_f1_global_cut"] - 0.02
    )


def test_multi_label_scores_and_at_least_one_label(goemotions):
    model, texts, _ = goemotions
    P = model.predict_proba(texts[:50])
    assert P.shape == (50, len(model.labels)) and ((P >= 0) & (P <= 1)).all()
    predicted = model.predict(texts[:50])
    for row, labels in zip(P, predicted, strict=True):
        over = {model.labels[j] for j in np.flatnonzero(row >= model.thresholds)}
        if model.at_least_one and not over:
            assert labels == [model.labels[int(row.argmax())]]
        else:
            assert set(labels) == over
    scored = model.predict_scores(texts[:3])
    assert [s for _, s in scored[0]] == sorted((s for _, s in scored[0]), reverse=True)


def test_save_and_load_round_trip(tmp_path, goemotions):
    model, texts, _ = goemotions
    digest = artifacts.save_classifier(model, tmp_path / "v1", metadata={"metrics": {"x": 1}})
    again = artifacts.save_classifier(model, tmp_path / "v2")
    assert digest == again and len(digest) == 64  # same model, same bytes
    loaded = artifacts.load_classifier(tmp_path / "v1", sha256=digest)
    assert isinstance(loaded, TrainedClassifier)
    np.testing.assert_array_equal(loaded.predict_proba(texts[:40]), model.predict_proba(texts[:40]))
    assert loaded.predict(texts[:40]) == model.predict(texts[:40])
    meta = json.loads((tmp_path / "v1" / "metadata.json").read_text())
    assert meta["sha256"] == digest and meta["metadata"] == {"metrics": {"x": 1}}
    assert {"numpy", "scikit-learn", "python"} <= set(meta["libraries"])
    assert meta["params"]["model"] == "LinearSVC"
    # Only the finished directories exist: no temporary leftovers.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1", "v2"]
    assert artifacts.sha256_file(tmp_path / "v1" / "weights.npy") == meta["files"]["weights.npy"]


def test_load_refuses_a_wrong_or_changed_artifact(tmp_path, clinc):
    model = clinc[0]
    digest = artifacts.save_classifier(model, tmp_path / "m")
    with pytest.raises(artifacts.ArtifactError):
        artifacts.load_classifier(tmp_path / "m", sha256="0" * 64)
    with open(tmp_path / "m" / "bias.npy", "r+b") as fh:
        fh.seek(-1, 2)
        fh.write(b"\x01")
    with pytest.raises(artifacts.ArtifactError, match="SHA-256"):
        artifacts.load_classifier(tmp_path / "m", sha256=digest)
    with pytest.raises(artifacts.ArtifactError):
        artifacts.load_classifier(tmp_path / "missing")


def _in_memory(folder: Path, **changed: bytes) -> artifacts.ModelFiles:
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    return artifacts.ModelFiles({**files, **changed})


def test_a_model_loads_from_its_files_in_memory_as_from_its_folder(tmp_path, goemotions):
    model, texts, _ = goemotions  # multi-label: every kind of array the format has
    digest = artifacts.save_classifier(model, tmp_path / "m")
    from_folder = artifacts.load_classifier(tmp_path / "m", sha256=digest)
    files = _in_memory(tmp_path / "m")
    for verified in (False, True):
        from_memory = artifacts.load_classifier(files, sha256=digest, verified=verified)
        np.testing.assert_array_equal(
            from_memory.predict_proba(texts[:40]), from_folder.predict_proba(texts[:40])
        )
        assert from_memory.predict(texts[:40]) == from_folder.predict(texts[:40])
        assert from_memory.predict_scores(texts[:5]) == from_folder.predict_scores(texts[:5])
    # The arrays are views of the files' bytes, not copies, and nothing can write to them.
    weights = np.frombuffer(files.read_bytes("weights.npy"), dtype=np.uint8)
    assert np.shares_memory(from_memory.weights, weights)
    for array in (from_memory.weights, from_memory.bias, from_memory.thresholds):
        assert not array.flags.writeable
    np.testing.assert_array_equal(from_memory.weights, model.weights)


def test_a_load_from_memory_refuses_changed_or_missing_files(tmp_path, clinc):
    digest = artifacts.save_classifier(clinc[0], tmp_path / "m")
    bias = bytearray((tmp_path / "m" / "bias.npy").read_bytes())
    bias[-1] ^= 1
    changed = _in_memory(tmp_path / "m", **{"bias.npy": bytes(bias)})
    with pytest.raises(artifacts.ArtifactError, match="SHA-256"):
        artifacts.load_classifier(changed, sha256=digest)
    files = {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()}
    del files["weights.npy"]
    with pytest.raises(artifacts.ArtifactError, match="weights.npy"):
        artifacts.load_classifier(artifacts.ModelFiles(files), sha256=digest, verified=True)
    with pytest.raises(artifacts.ArtifactError, match="missing"):
        artifacts.load_classifier(artifacts.ModelFiles({}), verified=True)


def test_arrays_read_from_memory_are_checked_as_np_load_checks_them(tmp_path):
    def npy(array) -> bytes:
        path = tmp_path / "a.npy"
        np.save(path, array, allow_pickle=True)
        return path.read_bytes()

    matrix = np.arange(12, dtype=np.float32).reshape(3, 4)
    for array in (matrix, np.asfortranarray(matrix), np.array([], dtype=np.int32), np.int64(7)):
        loaded = artifacts.array_from_npy(npy(array))
        np.testing.assert_array_equal(loaded, array)
        assert loaded.dtype == array.dtype and loaded.shape == np.shape(array)
    with pytest.raises(artifacts.ArtifactError, match="objects"):
        artifacts.array_from_npy(npy(np.array([{"a": 1}], dtype=object)))
    with pytest.raises(artifacts.ArtifactError, match="cut short"):
        artifacts.array_from_npy(npy(matrix)[:-1])
    with pytest.raises(artifacts.ArtifactError, match="not a readable"):
        artifacts.array_from_npy(b"PK\x03\x04" + bytes(100))


def test_should_stop_raises_training_stopped():
    data = read(BAD_INPUTS / "classifier-ok-3-labels.csv")
    calls = []

    def stop_after_two():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(TrainingStopped):
        fit(data.texts, data.labels, mode=MC, seed=0, should_stop=stop_after_two)
    assert len(calls) == 3


def test_a_tiny_budget_still_returns_the_baseline():
    data = read(BAD_INPUTS / "classifier-ok-3-labels.csv")
    model = fit(data.texts, data.labels, mode=MC, seed=0, time_budget_s=0.001)
    tried = [c for c in model.params["candidates"] if "seconds" in c]
    skipped = [c for c in model.params["candidates"] if "skipped" in c]
    assert len(tried) >= 1 and skipped
    assert model.predict(["set an alarm for 6 am"]) == ["alarm"]


def test_large_sets_switch_to_cheap_models_on_a_subsample(monkeypatch, clinc):
    _, texts, labels, test_texts, test_labels, _ = clinc
    # Pretend 800 documents are "large" and cap the search set, as for a million.
    monkeypatch.setattr(classifier_module, "LARGE_DOCS", 500)
    monkeypatch.setattr(classifier_module, "MAX_SEARCH_DOCS", 300)
    model = fit(texts, labels, mode=MC, seed=0, time_budget_s=30)
    params = model.params
    assert params["features"] == "large-word"
    assert params["model"] in ("MultinomialNB", "ComplementNB", "SGDClassifier")
    assert params["search_documents"] == 300
    accuracy = np.mean(
        [p == g for p, g in zip(model.predict(test_texts), test_labels, strict=True)]
    )
    assert accuracy >= 0.8  # 0.92 with seed 0


def test_empty_input_and_empty_texts_predict():
    data = read(BAD_INPUTS / "classifier-ok-3-labels.csv")
    model = fit(data.texts, data.labels, mode=MC, seed=0, time_budget_s=10)
    assert model.predict([]) == [] and model.predict_scores([]) == []
    assert model.predict_proba([]).shape == (0, 3)
    assert model.predict([""])[0] in model.labels


@pytest.mark.parametrize(
    "text",
    [
        "Re: Subject line " + "word " * 5000,  # long: only the start is read
        "!!! " * 400 + "ΟΔΟΣ ΑΘΗΝΑΣ one two three four five six seven eight nine ten",
        "İSTANBUL Straße ÀÉ " * 3,  # lower-casing that changes the length
        "x" * 2000 + " tail",  # first token longer than the first window
        "",
    ],
)
def test_document_head_is_the_first_tokens_of_the_whole_lower_cased_text(text):
    expected = classifier_module._TOKEN.findall(text.lower())[: classifier_module.HEAD_TOKENS]
    assert classifier_module._head_tokens(text, classifier_module.HEAD_TOKENS) == expected


def test_character_counts_of_one_document_match_a_batch(clinc):
    texts = clinc[1][:50] + ["", "a", " x  y\tz ", "İstanbul " * 500]
    batch = classifier_module._char_counts(texts, classifier_module.CHAR_PREFIX)
    for i, text in enumerate(texts):
        one = classifier_module._char_counts([text], classifier_module.CHAR_PREFIX)
        assert one.indices.tolist() == batch[i].indices.tolist()
        assert one.data.tolist() == batch[i].data.tolist()


@pytest.mark.parametrize("kind", ["mnb", "cnb"])
def test_a_blend_is_one_linear_model_that_scores_as_its_parts(clinc, kind):
    _, texts, labels, test_texts, _, _ = clinc
    C = classifier_module
    data = C._encode(labels, MC)
    n = len(data.label_names)
    features = C.Features.create("word", texts, n)
    features.fit_counts(C._hashed_counts(features.blocks, texts))
    X, X_test = features.transform(texts), features.transform(test_texts)
    Y = data.matrix(np.arange(len(texts)))
    cand = C.Candidate("word", f"svm+{kind}", 1.0, alpha=0.03, share=0.7, scales=(2.0, 3.0))
    W, b = C._fit_candidate(cand, X, data.y, Y, n, MC, 0, lambda: False)

    S = C._scores(X_test, *C._fit_svm_mc(X, data.y, n, 1.0, 0))
    N = C._scores(X_test, *(C._fit_cnb if kind == "cnb" else C._fit_mnb)(X, Y, 0.03))
    expected = S / 2.0 + 0.7 * (N - N.mean(axis=1, keepdims=True)) / 3.0
    got = C._scores(X_test, W, b)
    # Equal up to a per-document constant, which changes neither ranking nor softmax.
    diff = got - expected
    assert np.allclose(diff, diff[:, :1], atol=1e-4)
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()
    assert cand.name.endswith(f"x {C.MODEL_NAMES[kind]}(alpha=0.03)")
    assert cand.hyperparameters == {"C": 1.0, "alpha": 0.03, "nb_share": 0.7}
