"""Scoring model versions on an iteration's test pool, with the metrics training records.

Both versions of an iteration are scored here, on the same documents, by the functions the
trainers score their test sets with (`models_app.ml.metrics.classification_metrics` and
`models_app.ml.ner_metrics.evaluate`), so an iteration's figures and a version's own are the same
measure. FlywheelModelEvaluationMetrics are macro averages over the labels (or entity types)
that occur in the pool, on a 0-1 scale.
"""

from dataclasses import dataclass, field

from flywheel_app import kind_ops
from models_app.ml import metrics, ner_metrics
from models_app.models import ModelVersion
from models_app.services import serving


@dataclass
class Pool:
    """An iteration's test documents: text, gold answer and where each came from."""

    texts: list[str] = field(default_factory=list)
    gold: list = field(default_factory=list)  # labels (classifiers) or spans (recognizers)
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class Scored:
    """One version's answers on a pool and the figures they earn."""

    version: ModelVersion
    predicted: list
    averages: dict  # FlywheelModelEvaluationMetrics
    details: dict  # the full metrics, as a version's own evaluation records them


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def _classifier(model, pool: Pool, mode: str) -> tuple[list, dict, dict]:
    predicted = model.predict(pool.texts)
    result = metrics.classification_metrics(
        pool.gold, predicted, mode=mode, labels=list(model.labels)
    )
    averages = {
        # classification_metrics' Precision, Recall and F1Score are already macro averages.
        "AverageF1Score": result["F1Score"],
        "AveragePrecision": result["Precision"],
        "AverageRecall": result["Recall"],
        "AverageAccuracy": result["Accuracy"],
    }
    return predicted, averages, result


def _recognizer(model, pool: Pool) -> tuple[list, dict, dict]:
    predicted = model.entities(pool.texts)
    result = ner_metrics.evaluate(pool.gold, predicted)
    # The overall figures of `evaluate` are micro averages (Comprehend's for a recognizer);
    # an iteration's are averaged over the entity types found in the pool or predicted.
    present = {s[2] for doc in pool.gold for s in doc if s[2] != ner_metrics.UNKNOWN}
    present |= {s[2] for doc in predicted for s in doc}
    rows = [row["EvaluationMetrics"] for row in result["EntityTypes"] if row["Type"] in present]
    averages = {
        "AverageF1Score": _mean([r["F1Score"] for r in rows]),
        "AveragePrecision": _mean([r["Precision"] for r in rows]),
        "AverageRecall": _mean([r["Recall"] for r in rows]),
    }
    return predicted, averages, result


def evaluate(version: ModelVersion, pool: Pool, *, mode: str = "") -> Scored:
    """Score one trained version on the pool (the model is loaded as endpoints load it)."""
    model = serving.get(version).model
    predicted, averages, details = kind_ops.pick(
        version.model.kind,
        labels=lambda: _classifier(model, pool, mode or version.mode),
        spans=lambda: _recognizer(model, pool),
    )()
    averages = {k: round(min(1.0, max(0.0, float(v))), 4) for k, v in averages.items()}
    return Scored(version=version, predicted=predicted, averages=averages, details=details)


def prediction_json(kind: str, predicted) -> object:
    """One document's answer as the per-document predictions file holds it."""
    return kind_ops.pick(kind, labels=_as_is, spans=_predicted_spans)(predicted)


def _as_is(value):
    return value


def _predicted_spans(predicted) -> list[dict]:
    return [
        {"BeginOffset": int(b), "EndOffset": int(e), "Type": t, "Score": round(float(s), 4)}
        for b, e, t, s in predicted
    ]


def gold_json(kind: str, gold) -> object:
    return kind_ops.pick(kind, labels=_as_is, spans=_gold_spans)(gold)


def _gold_spans(gold) -> list[dict]:
    return [
        {"BeginOffset": int(s[0]), "EndOffset": int(s[1]), "Type": s[2]}
        for s in gold
        if s[2] != ner_metrics.UNKNOWN
    ]


def label_f1(kind: str, details: dict) -> dict[str, float]:
    """Each label's (or entity type's) F1 on the pool, from a Scored's details; labels that
    occur in neither the gold answers nor the predictions score 0 for every version."""
    return kind_ops.pick(kind, labels=_label_f1_of_labels, spans=_label_f1_of_spans)(details)


def _label_f1_of_labels(details: dict) -> dict[str, float]:
    return {str(row["label"]): float(row["f1"]) for row in details.get("per_label") or []}


def _label_f1_of_spans(details: dict) -> dict[str, float]:
    return {
        str(row["Type"]): float(row["EvaluationMetrics"]["F1Score"])
        for row in details.get("EntityTypes") or []
    }
