"""Reads the console's flywheel pages need beyond the API's: versions that may become active,
and an iteration's per-label scores from the metrics file it left in the data lake."""

import json

from django.db.models import QuerySet

from flywheel_app.models import Flywheel, FlywheelIteration
from models_app import selectors as model_selectors
from webapp.core import storage
from webapp.core.errors import ServiceError

METRICS_FILE = "metrics.json"


def activatable_versions(account, flywheel: Flywheel) -> QuerySet:
    """Trained versions of the account that do the flywheel's kind of task in its language
    (UpdateFlywheel still checks mode and labels)."""
    qs = model_selectors.usable_versions(account, flywheel.kind)
    if flywheel.language_code:
        qs = qs.filter(language_code=flywheel.language_code)
    return qs


def _per_label(model: dict) -> dict[str, dict]:
    """{label: {"f1", "precision", "recall", "support"}} of one model in metrics.json, for
    classifiers (PerLabelMetrics) and recognizers (EvaluationMetrics.EntityTypes) alike."""
    rows = {}
    for row in model.get("PerLabelMetrics") or []:
        if isinstance(row, dict) and "label" in row:
            rows[str(row["label"])] = {
                "f1": row.get("f1"),
                "precision": row.get("precision"),
                "recall": row.get("recall"),
                "support": row.get("support"),
            }
    for row in (model.get("EvaluationMetrics") or {}).get("EntityTypes") or []:
        if isinstance(row, dict) and "Type" in row:
            scores = row.get("EvaluationMetrics") or {}
            rows[str(row["Type"])] = {
                "f1": scores.get("F1Score"),
                "precision": scores.get("Precision"),
                "recall": scores.get("Recall"),
                "support": None,
            }
    return rows


def iteration_metrics_file(iteration: FlywheelIteration) -> dict | None:
    """The iteration's metrics.json (None when it has none or it cannot be read)."""
    prefix = iteration.evaluation_manifest_s3_prefix
    if not prefix:
        return None
    account_id = iteration.flywheel.account.account_id
    try:
        uri = storage.parse_uri(prefix.rstrip("/") + "/" + METRICS_FILE, field="Prefix")
        stream = storage.open_read(account_id, uri)
        try:
            data = json.loads(stream.read())
        finally:
            stream.close()
    except (ServiceError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def iteration_label_deltas(iteration: FlywheelIteration) -> list[dict]:
    """Per label (or entity type): the evaluated and the trained version's F1 on the iteration's
    test pool and the change, largest drop first; [] when the iteration recorded none."""
    data = iteration_metrics_file(iteration)
    if data is None:
        return []
    by_role = {
        m.get("Role"): _per_label(m) for m in data.get("Models") or [] if isinstance(m, dict)
    }
    evaluated, trained = by_role.get("Evaluated", {}), by_role.get("Trained", {})
    rows = []
    for label in sorted(set(evaluated) | set(trained)):
        before = (evaluated.get(label) or {}).get("f1")
        after = (trained.get(label) or {}).get("f1")
        support = (trained.get(label) or evaluated.get(label) or {}).get("support")
        delta = after - before if before is not None and after is not None else None
        rows.append(
            {
                "label": label,
                "evaluated": before,
                "trained": after,
                "delta": delta,
                "support": support,
            }
        )
    rows.sort(key=lambda r: (r["delta"] is None, r["delta"] if r["delta"] is not None else 0))
    return rows
