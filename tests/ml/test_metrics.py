"""Comprehend's classifier metrics on small examples computed by hand."""

import numpy as np
import pytest
from sklearn.metrics import precision_recall_curve

from models_app.ml.metrics import (
    classification_metrics,
    confusion_matrix_json,
    precision_recall_curves,
)

MC, ML = "MULTI_CLASS", "MULTI_LABEL"

# Comprehend's own accuracy example: 5 of 7 right.
GOLD_MC = ["1", "0", "2", "3", "2", "1", "3"]
PRED_MC = ["1", "1", "3", "3", "2", "1", "3"]
LABELS_MC = ["0", "1", "2", "3"]

GOLD_ML = [["A", "B"], ["C"], ["A", "C", "D"]]
PRED_ML = [["A"], ["C", "B"], ["A", "D"]]
LABELS_ML = ["A", "B", "C", "D"]


def test_multi_class_metrics_by_hand():
    m = classification_metrics(GOLD_MC, PRED_MC, mode=MC, labels=LABELS_MC)
    assert m["Accuracy"] == pytest.approx(5 / 7)
    # Per label P/R: 0 -> 0/0, 1 -> 2/3, 1, 2 -> 1, 1/2, 3 -> 2/3, 1.
    assert m["Precision"] == pytest.approx((0 + 2 / 3 + 1 + 2 / 3) / 4)
    assert m["Recall"] == pytest.approx((0 + 1 + 0.5 + 1) / 4)
    assert m["F1Score"] == pytest.approx((0 + 0.8 + 2 / 3 + 0.8) / 4)
    for key in ("MicroPrecision", "MicroRecall", "MicroF1Score"):
        assert m[key] == pytest.approx(5 / 7)
    assert m["HammingLoss"] == pytest.approx(2 / 7)
    assert m["NumberOfLabels"] == 4 and m["NumberOfTestDocuments"] == 7
    rows = {r["label"]: r for r in m["per_label"]}
    assert rows["1"] == {
        "label": "1",
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
    }
    assert rows["0"]["precision"] == 0.0 and rows["0"]["support"] == 1


def test_multi_label_accuracy_and_hamming_loss_by_hand():
    m = classification_metrics(GOLD_ML, PRED_ML, mode=ML, labels=LABELS_ML)
    # Gold labels recognised: 1 + 1 + 2 = 4 of 2 + 1 + 3 = 6 (not subset accuracy, 0/3).
    assert m["Accuracy"] == pytest.approx(4 / 6)
    # Wrong label slots: B in doc 1, B in doc 2, C in doc 3 = 3 of 3 docs x 4 labels.
    assert m["HammingLoss"] == pytest.approx(3 / 12)
    assert m["MicroPrecision"] == pytest.approx(4 / 5)
    assert m["MicroRecall"] == pytest.approx(4 / 6)
    assert m["MicroF1Score"] == pytest.approx(8 / 11)
    assert m["Precision"] == pytest.approx((1 + 0 + 1 + 1) / 4)
    assert m["Recall"] == pytest.approx((1 + 0 + 0.5 + 1) / 4)
    assert m["F1Score"] == pytest.approx((1 + 0 + 2 / 3 + 1) / 4)


def test_labels_absent_from_the_test_data_do_not_dilute_macro_averages():
    with_extra = classification_metrics(GOLD_ML, PRED_ML, mode=ML, labels=LABELS_ML + ["E"])
    plain = classification_metrics(GOLD_ML, PRED_ML, mode=ML, labels=LABELS_ML)
    for key in ("Precision", "Recall", "F1Score", "Accuracy", "MicroF1Score"):
        assert with_extra[key] == pytest.approx(plain[key])
    assert with_extra["NumberOfLabels"] == 5
    assert with_extra["HammingLoss"] == pytest.approx(3 / 15)  # E is a label slot too
    assert with_extra["per_label"][-1] == {
        "label": "E",
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
    }


def test_perfect_predictions():
    m = classification_metrics(["a", "b"], ["a", "b"], mode=MC, labels=["a", "b"])
    assert m["Accuracy"] == m["F1Score"] == m["MicroF1Score"] == 1.0
    assert m["HammingLoss"] == 0.0


def test_multi_class_confusion_matrix_like_comprehend():
    cm = confusion_matrix_json(GOLD_MC, PRED_MC, mode=MC, labels=LABELS_MC + ["9"])
    assert cm["type"] == "multi_class"
    assert cm["labels"] == ["0", "1", "2", "3"]
    assert cm["all_labels"] == ["0", "1", "2", "3", "9"]
    # Rows are actual labels, columns predicted ones.
    assert cm["confusion_matrix"] == [[0, 1, 0, 0], [0, 2, 0, 0], [0, 0, 1, 1], [0, 0, 0, 2]]


def test_multi_label_confusion_matrix_like_comprehend():
    cm = confusion_matrix_json(GOLD_ML, PRED_ML, mode=ML, labels=LABELS_ML)
    assert cm["type"] == "multi_label" and cm["labels"] == LABELS_ML
    # Per label [[TN, FP], [FN, TP]]: rows actually absent/present, columns predicted.
    assert cm["confusion_matrix"] == [
        [[1, 0], [0, 2]],
        [[1, 1], [1, 0]],
        [[1, 0], [1, 1]],
        [[2, 0], [0, 1]],
    ]


def test_precision_recall_curves_match_scikit_learn():
    rng = np.random.default_rng(0)
    gold = list(rng.choice(["a", "b", "c"], size=40))
    scores = rng.random((40, 3))
    curves = precision_recall_curves(gold, scores, labels=["a", "b", "c"], mode=MC)
    for k, label in enumerate(["a", "b", "c"]):
        p, r, t = precision_recall_curve([g == label for g in gold], scores[:, k])
        got = curves[label]
        assert len(got["precision"]) == len(got["recall"]) == len(got["thresholds"]) == len(t)
        np.testing.assert_allclose(got["precision"], p[:-1], atol=1e-4)
        np.testing.assert_allclose(got["recall"], r[:-1], atol=1e-4)
        np.testing.assert_allclose(got["thresholds"], t, atol=1e-5)


def test_precision_recall_curves_from_predict_scores_pairs_and_downsampling():
    gold = [["x"], ["y"], ["x", "y"], []] * 50
    pairs = [[("x", 0.9 - i / 1000), ("y", i / 1000)] for i in range(200)]
    curves = precision_recall_curves(gold, pairs, labels=["x", "y", "z"], mode=ML, max_points=10)
    assert len(curves["x"]["thresholds"]) <= 10 and len(curves["x"]["thresholds"]) >= 9
    assert curves["x"]["recall"][0] == 1.0  # lowest threshold keeps every positive
    assert curves["x"]["thresholds"] == sorted(curves["x"]["thresholds"])
    assert curves["z"] == {"precision": [], "recall": [], "thresholds": []}
