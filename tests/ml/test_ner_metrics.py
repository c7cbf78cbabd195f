"""Comprehend's entity recognizer metrics on hand-computed examples."""

import pytest

from models_app.ml.ner_metrics import UNKNOWN, count_mentions, evaluate, recognizer_metadata

GOLD = [
    [(0, 3, "PERSON"), (10, 15, "PLACE")],
    [(0, 4, "PERSON"), (8, 12, "ORG")],
    [],
]
PREDICTED = [
    [(0, 3, "PERSON", 0.9), (10, 15, "ORG", 0.6)],  # right; wrong type
    [(0, 4, "PERSON", 0.8), (8, 11, "ORG", 0.7)],  # right; wrong span
    [(5, 9, "PLACE", 0.4)],  # spurious
]


def test_it_scores_exact_span_and_type_matches():
    result = evaluate(GOLD, PREDICTED)
    # 2 correct of 5 predicted and 4 gold.
    assert result["Precision"] == pytest.approx(2 / 5)
    assert result["Recall"] == pytest.approx(2 / 4)
    assert result["F1Score"] == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    by_type = {item["Type"]: item["EvaluationMetrics"] for item in result["EntityTypes"]}
    assert by_type["PERSON"] == {"Precision": 1.0, "Recall": 1.0, "F1Score": 1.0}
    assert by_type["ORG"] == {"Precision": 0.0, "Recall": 0.0, "F1Score": 0.0}
    assert by_type["PLACE"] == {"Precision": 0.0, "Recall": 0.0, "F1Score": 0.0}


def test_it_adds_train_mentions_and_keeps_declared_types():
    mentions = count_mentions([[(0, 3, "PERSON")], [(0, 1, "PERSON"), (2, 3, "ORG")]])
    assert mentions == {"ORG": 1, "PERSON": 2}
    result = evaluate(
        GOLD, PREDICTED, entity_types=["PERSON", "ORG", "DATE"], train_mentions=mentions
    )
    assert [item["Type"] for item in result["EntityTypes"]] == ["DATE", "ORG", "PERSON"]
    date = result["EntityTypes"][0]
    assert date["NumberOfTrainMentions"] == 0
    assert date["EvaluationMetrics"]["F1Score"] == 0.0
    assert result["EntityTypes"][2]["NumberOfTrainMentions"] == 2


def test_it_counts_duplicates_once_and_handles_nothing_predicted():
    gold = [[(0, 3, "PERSON"), (0, 3, "PERSON"), (5, 8, "PERSON")]]
    assert evaluate(gold, [[(0, 3, "PERSON"), (0, 3, "PERSON")]])["Recall"] == 0.5
    nothing = evaluate(gold, [[]])
    assert (nothing["Precision"], nothing["Recall"], nothing["F1Score"]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        evaluate(gold, [])


def test_unknown_gold_spans_are_neither_found_nor_held_against_predictions():
    gold = [[(0, 3, "PERSON"), (10, 17, UNKNOWN), (20, 25, "PLACE")]]
    predicted = [
        [
            (0, 3, "PERSON"),  # right
            (10, 17, "ORG"),  # on the unknown span: not scored
            (12, 19, "ORG"),  # overlaps it: not scored
            (20, 25, "ORG"),  # wrong type
        ]
    ]
    result = evaluate(gold, predicted)
    assert result["Precision"] == pytest.approx(1 / 2)
    assert result["Recall"] == pytest.approx(1 / 2)
    assert UNKNOWN not in {item["Type"] for item in result["EntityTypes"]}
    assert count_mentions(gold) == {"PERSON": 1, "PLACE": 1}


def test_it_shapes_comprehend_recognizer_metadata():
    result = evaluate(GOLD, PREDICTED, train_mentions={"PERSON": 30})
    metadata = recognizer_metadata(
        result, number_of_trained_documents=90, number_of_test_documents=10
    )
    assert metadata["NumberOfTrainedDocuments"] == 90
    assert metadata["NumberOfTestDocuments"] == 10
    assert set(metadata["EvaluationMetrics"]) == {"Precision", "Recall", "F1Score"}
    assert 0.0 <= metadata["EvaluationMetrics"]["F1Score"] <= 1.0
    assert metadata["EntityTypes"][1]["NumberOfTrainMentions"] == 30
