"""Comprehend's entity recognizer metrics: exact match of span and type, on a 0-1 scale.

An entity counts as correct only when its begin, end and type all equal a gold entity's.
Overall figures are micro-averaged over every entity; an undefined ratio (no predictions, no
gold entities) is 0.

A gold span of type `UNKNOWN` marks text whose annotation is not known (entity-list mode leaves
doubtful matches so): it is not an entity to find, and predictions overlapping it are not scored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

Span = tuple  # (begin, end, type) or (begin, end, type, score); the score is ignored

# Not a valid entity type name (those are upper-case words), so it never clashes with one.
UNKNOWN = "-"


def count_mentions(spans: Iterable[Iterable[Span]]) -> dict[str, int]:
    """Mentions per entity type, e.g. for NumberOfTrainMentions from the training spans."""
    counts = Counter(span[2] for doc_spans in spans for span in doc_spans if span[2] != UNKNOWN)
    return dict(sorted(counts.items()))


def _ratios(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"Precision": precision, "Recall": recall, "F1Score": f1}


def evaluate(
    gold: Sequence[Iterable[Span]],
    predicted: Sequence[Iterable[Span]],
    *,
    entity_types: Iterable[str] | None = None,
    train_mentions: dict[str, int] | None = None,
) -> dict:
    """Precision, Recall, F1Score overall and per type (EntityTypes[].EvaluationMetrics).

    `gold` and `predicted` hold one list of spans per document, in the same order. Types come
    from `entity_types` (else every type seen); `train_mentions` adds NumberOfTrainMentions.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold documents but {len(predicted)} predicted")
    tp, n_pred, n_gold = Counter(), Counter(), Counter()
    for doc_gold, doc_pred in zip(gold, predicted, strict=True):
        unknown = [span for span in doc_gold if span[2] == UNKNOWN]
        gold_set = {tuple(span[:3]) for span in doc_gold if span[2] != UNKNOWN}
        pred_set = {
            tuple(span[:3])
            for span in doc_pred
            if not any(span[0] < u[1] and u[0] < span[1] for u in unknown)
        }
        n_gold.update(span[2] for span in gold_set)
        n_pred.update(span[2] for span in pred_set)
        tp.update(span[2] for span in gold_set & pred_set)
    types = sorted(set(entity_types) if entity_types is not None else set(n_gold) | set(n_pred))
    result = _ratios(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    per_type = []
    for type_ in types:
        item = {
            "Type": type_,
            "EvaluationMetrics": _ratios(tp[type_], n_pred[type_], n_gold[type_]),
        }
        if train_mentions is not None:
            item["NumberOfTrainMentions"] = int(train_mentions.get(type_, 0))
        per_type.append(item)
    result["EntityTypes"] = per_type
    return result


def recognizer_metadata(
    evaluation: dict, *, number_of_trained_documents: int, number_of_test_documents: int
) -> dict:
    """Shape an `evaluate` result like Comprehend's EntityRecognizerMetadata (0-1 scale)."""
    return {
        "NumberOfTrainedDocuments": number_of_trained_documents,
        "NumberOfTestDocuments": number_of_test_documents,
        "EvaluationMetrics": {key: evaluation[key] for key in ("Precision", "Recall", "F1Score")},
        "EntityTypes": evaluation["EntityTypes"],
    }
