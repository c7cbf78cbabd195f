"""The per-process model cache and the batching of real-time calls."""

import threading
import time

import pytest

from models_app.models import ModelKind
from models_app.services import serving
from tests import factories


class FakeClassifier:
    mode = "MULTI_CLASS"

    def __init__(self, delay=0.0):
        self.delay, self.batches = delay, []

    def predict_scores(self, texts):
        self.batches.append(len(texts))
        if "bad" in texts and len(texts) > 1:
            raise ValueError("one bad text spoils the batch")
        if texts == ["bad"]:
            raise ValueError("bad text")
        time.sleep(self.delay)
        return [[(t, 0.9), ("other", 0.1)] for t in texts]

    def predict(self, texts):
        return [[t] for t in texts]


def test_concurrent_calls_are_batched_and_each_gets_its_own_answer():
    model = FakeClassifier(delay=0.05)
    batcher = serving._Batcher(
        lambda texts: [{"Classes": s} for s in model.predict_scores(texts)], most=16
    )
    answers, errors = {}, []

    def call(i):
        try:
            answers[i] = batcher.submit(f"text-{i}")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert all(answers[i]["Classes"][0][0] == f"text-{i}" for i in range(12))
    assert max(model.batches) > 1 and sum(model.batches) == 12
    assert not batcher.busy and not batcher.pending


def test_a_bad_text_fails_only_its_own_call():
    model = FakeClassifier(delay=0.02)
    batcher = serving._Batcher(
        lambda texts: [{"Classes": s} for s in model.predict_scores(texts)], most=16
    )
    results = {}

    def call(text):
        try:
            results[text] = batcher.submit(text)
        except ValueError as exc:
            results[text] = exc

    threads = [threading.Thread(target=call, args=(t,)) for t in ("a", "bad", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert isinstance(results["bad"], ValueError)
    assert all(isinstance(results[t], dict) for t in ("a", "b", "c"))
    assert batcher.submit("d")["Classes"][0][0] == "d"  # and nothing is left stuck


def test_the_cache_is_bounded_and_keyed_by_version_and_sha(owner, settings, monkeypatch):
    settings.INFERENCE_MODEL_CACHE_SIZE = 1
    loads = []
    monkeypatch.setattr(serving, "_read", lambda v: loads.append(v.pk) or FakeClassifier())
    serving.clear()
    v1 = factories.version(owner, version_name="v1", artifact_sha256="a" * 64, artifact_uri="x")
    v2 = factories.version(owner, version_name="v2", artifact_sha256="b" * 64, artifact_uri="y")
    first = serving.get(v1)
    assert serving.get(v1) is first and serving.cached(v1.pk, "a" * 64) is first
    assert serving.cached(v1.pk, "c" * 64) is None  # another artifact is another model
    serving.get(v2)
    assert serving.cached(v1.pk, "a" * 64) is None  # evicted: the cache holds one model
    serving.get(v1)
    assert loads == [v1.pk, v2.pk, v1.pk]
    serving.clear()


def test_multi_label_answers_the_labels_over_threshold_by_score(owner):
    class MultiLabel:
        mode = "MULTI_LABEL"

        def predict_scores(self, texts):
            return [[("sports", 0.8), ("money", 0.6), ("war", 0.2)] for _ in texts]

        def predict(self, texts):
            return [["money", "sports"] for _ in texts]

    version = factories.version(owner, mode="MULTI_LABEL")
    served = serving.ServedModel(version, MultiLabel(), ModelKind.CLASSIFIER)
    assert served.analyse_one("x") == {
        "Labels": [{"Name": "sports", "Score": 0.8}, {"Name": "money", "Score": 0.6}]
    }


def test_multi_class_answers_the_top_three_classes(owner):
    version = factories.version(owner)
    model = FakeClassifier()
    model.predict_scores = lambda texts: [[("a", 0.5), ("b", 0.3), ("c", 0.1), ("d", 0.1)]]
    served = serving.ServedModel(version, model, ModelKind.CLASSIFIER)
    assert [c["Name"] for c in served.analyse_one("x")["Classes"]] == ["a", "b", "c"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    serving.clear()
    yield
    serving.clear()


class ProbaModel:
    """A model offering the probability matrix, like models_app.ml.classifier's."""

    labels = ["a", "b", "c", "d"]

    def __init__(self, mode):
        import numpy as np

        self.mode = mode
        self.P = np.array([[0.1, 0.6, 0.25, 0.05], [0.7, 0.1, 0.1, 0.1]], dtype="float32")

    def predict_proba(self, texts):
        return self.P[: len(texts)]

    def predict_from_proba(self, P):
        return [[self.labels[j] for j, p in enumerate(row) if p >= 0.2] for row in P]

    def predict_scores(self, texts):
        return [
            sorted(zip(self.labels, map(float, row), strict=True), key=lambda x: -x[1])
            for row in self.predict_proba(texts)
        ]

    def predict(self, texts):
        return self.predict_from_proba(self.predict_proba(texts))


@pytest.mark.parametrize("mode", ["MULTI_CLASS", "MULTI_LABEL"])
def test_the_probability_matrix_gives_the_same_answers(owner, mode):
    version = factories.version(owner, mode=mode)
    fast = serving.ServedModel(version, ProbaModel(mode), ModelKind.CLASSIFIER)
    plain = ProbaModel(mode)
    without_matrix = type(
        "Plain", (), {k: getattr(plain, k) for k in ("mode", "predict_scores", "predict")}
    )
    slow = serving.ServedModel(version, without_matrix(), ModelKind.CLASSIFIER)
    assert fast.classify(["x", "y"]) == slow.classify(["x", "y"])
    expected = (
        [
            {
                "Classes": [
                    {"Name": "b", "Score": 0.6},
                    {"Name": "c", "Score": 0.25},
                    {"Name": "a", "Score": 0.1},
                ]
            }
        ]
        if mode == "MULTI_CLASS"
        else [{"Labels": [{"Name": "b", "Score": 0.6}, {"Name": "c", "Score": 0.25}]}]
    )
    assert fast.classify(["x"]) == expected
