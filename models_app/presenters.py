"""Rows shaped as Comprehend's …Properties: versions, endpoints and analysis jobs."""

from models_app import kinds
from models_app.models import AnalysisJob, Endpoint, ModelVersion

CLASSIFIER_METRICS = (
    "Accuracy",
    "Precision",
    "Recall",
    "F1Score",
    "MicroPrecision",
    "MicroRecall",
    "MicroF1Score",
    "HammingLoss",
)
RECOGNIZER_METRICS = ("Precision", "Recall", "F1Score")


def _common(v: ModelVersion) -> dict:
    return {
        "LanguageCode": v.language_code,
        "Status": v.status,
        "Message": v.message or None,
        "SubmitTime": v.submit_time,
        "EndTime": v.end_time,
        "TrainingStartTime": v.training_start_time,
        "TrainingEndTime": v.training_end_time,
        # An imported copy shows none of its source's data locations (recognizers keep only
        # EntityTypes, which say what the model finds).
        "InputDataConfig": (v.input_data_config or None) if not v.is_imported else {},
        "DataAccessRoleArn": v.data_access_role_arn or None,
        "VolumeKmsKeyId": v.volume_kms_key_id or None,
        "ModelKmsKeyId": v.model_kms_key_id or None,
        "VersionName": v.version_name or None,
        "SourceModelArn": v.source_model_arn or None,
        "FlywheelArn": v.flywheel_arn or None,
    }


def classifier_properties(v: ModelVersion) -> dict:
    props = {"DocumentClassifierArn": v.arn, **_common(v), "Mode": v.mode or None}
    output = dict(v.output_data_config or {}) if not v.is_imported else {}
    if v.output_uri and not v.is_imported:
        output["S3Uri"] = v.output_uri  # Describe returns the full path of output.tar.gz
    props["OutputDataConfig"] = output or None
    if v.metrics is not None or v.number_of_trained_documents is not None:
        props["ClassifierMetadata"] = {
            "NumberOfLabels": v.number_of_labels,
            "NumberOfTrainedDocuments": v.number_of_trained_documents,
            "NumberOfTestDocuments": v.number_of_test_documents,
            "EvaluationMetrics": {k: (v.metrics or {}).get(k) for k in CLASSIFIER_METRICS}
            if v.metrics
            else None,
        }
    return props


def recognizer_properties(v: ModelVersion) -> dict:
    props = {"EntityRecognizerArn": v.arn, **_common(v)}
    if v.is_imported:
        types = (v.input_data_config or {}).get("EntityTypes")
        props["InputDataConfig"] = {"EntityTypes": types} if types else {}
    if v.metrics is not None or v.number_of_trained_documents is not None:
        metrics = v.metrics or {}
        # Comprehend's model gives recognizer-level scores of plain-text models on 0-100 and
        # per-type scores on 0-1; clients compare against those scales, so keep them.
        props["RecognizerMetadata"] = {
            "NumberOfTrainedDocuments": v.number_of_trained_documents,
            "NumberOfTestDocuments": v.number_of_test_documents,
            "EvaluationMetrics": {
                k: round(metrics[k] * 100, 4)
                for k in RECOGNIZER_METRICS
                if metrics.get(k) is not None
            }
            if v.metrics
            else None,
            "EntityTypes": [
                {
                    "Type": row["type"],
                    "EvaluationMetrics": {
                        "Precision": row.get("precision"),
                        "Recall": row.get("recall"),
                        "F1Score": row.get("f1"),
                    },
                    "NumberOfTrainMentions": row.get("train_mentions"),
                }
                for row in (v.per_label_metrics or [])
            ]
            or None,
        }
    return props


def version_properties(v: ModelVersion) -> dict:
    return kinds.get(v.model.kind).properties(v)


def model_summary(model) -> dict:
    """DocumentClassifierSummary / EntityRecognizerSummary for one model and its versions."""
    versions = sorted(model.versions.all(), key=lambda v: (v.submit_time, v.pk))
    latest = versions[-1] if versions else None
    return {
        kinds.get(model.kind).name_field: model.name,
        "NumberOfVersions": len(versions),
        "LatestVersionCreatedAt": latest.submit_time if latest else None,
        "LatestVersionName": (latest.version_name or None) if latest else None,
        "LatestVersionStatus": latest.status if latest else None,
    }


def endpoint_properties(e: Endpoint) -> dict:
    """Comprehend's EndpointProperties."""
    current = e.version or e.desired_version
    return {
        "EndpointArn": e.arn,
        "Status": e.status,
        "Message": e.message or None,
        "ModelArn": current.arn if current else None,
        "DesiredModelArn": e.desired_version.arn if e.desired_version else None,
        "DesiredInferenceUnits": e.desired_units,
        "CurrentInferenceUnits": e.current_units,
        "CreationTime": e.created_at,
        "LastModifiedTime": e.updated_at,
        "DataAccessRoleArn": e.data_access_role_arn or None,
        "DesiredDataAccessRoleArn": e.desired_data_access_role_arn or None,
        "FlywheelArn": e.flywheel_arn or None,
    }


def job_properties(job: AnalysisJob) -> dict:
    """DocumentClassificationJobProperties / EntitiesDetectionJobProperties."""
    props = {
        "JobId": job.job_id,
        "JobArn": job.arn,
        "JobName": job.job_name or None,
        "JobStatus": job.status,
        "Message": job.message or None,
        "SubmitTime": job.submit_time,
        "EndTime": job.end_time,
        "InputDataConfig": job.input_data_config,
        # Describe gives the full path of output.tar.gz, as Comprehend does.
        "OutputDataConfig": {**job.output_data_config, "S3Uri": job.output_uri},
        "DataAccessRoleArn": job.data_access_role_arn or None,
        "VolumeKmsKeyId": job.volume_kms_key_id or None,
        "FlywheelArn": job.flywheel_arn or None,
    }
    spec = kinds.of_job(job.kind)
    props[spec.arn_field] = job.model_arn or None
    if spec.job_takes_language:
        props["LanguageCode"] = job.language_code or None
    return props


# The console's version page: training settings, the model search and the confusion matrix,
# as rows of plain text (never a Python repr, whatever the trainer stored).

# Keys of a search result that have their own column; hyperparameters are stored flat beside
# them, and anything else (a note the search adds later) goes to the "Notes" column.
_RESULT_COLUMNS = {"candidate", "features", "model", "seconds", "work", "skipped", "chosen"}
HYPERPARAMETER_KEYS = ("C", "alpha", "nb_share", "share", "temperature")
# The classifier's settings in the order a reader wants them; other keys follow, sorted.
PARAMETER_NAMES = {
    "features": "Features",
    "model": "Model",
    "hyperparameters": "Hyperparameters",
    "calibration": "Calibration",
    "temperature": "Softmax temperature",
    "thresholds": "Per-label thresholds",
    "at_least_one": "At least one label per document",
    "validation": "Validation score",
    "validation_documents": "Validation documents",
    "search_documents": "Documents the search trained on",
    "n_features": "Feature columns",
    "feature_blocks": "Feature blocks",
    "seed": "Random seed",
    "time_budget_s": "Time budget (seconds)",
    "work_budget": "Work budget",
    "work_spent": "Work spent",
    "safety_limit_seconds": "Safety time limit (seconds)",
    "stopped_at_safety_limit": "Cut short by the safety time limit",
    "fit_seconds": "Training time (seconds)",
    # The recognizer's
    "best_epoch": "Best epoch",
    "epochs": "Epochs trained",
    "epochs_planned": "Epochs planned",
    "dev_f1": "Validation F1 (network alone)",
    "ensemble_dev_f1": "Validation F1 (network and CRF)",
    "cnn_weight": "Network's share of a span's score",
    "threshold": "Score a span needs",
    "crf_seconds": "CRF training time (seconds)",
    "train_documents": "Training documents",
    "dev_documents": "Validation documents (recognizer)",
}
# Shown as the candidates table and the version's "Base model" line instead.
_SEARCH_KEYS = ("candidates", "base_model")


def plain_text(value) -> str:
    """A stored setting as a person reads it: numbers, words and lists, never a repr."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        if isinstance(value.get("kind"), str):  # a feature block: "word (weight 1, …)"
            rest = {k: v for k, v in value.items() if k != "kind"}
            return f"{value['kind']} ({plain_text(rest)})" if rest else value["kind"]
        return ", ".join(f"{humanize(k)} {plain_text(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        sep = "; " if any(isinstance(v, dict | list | tuple) for v in value) else ", "
        return sep.join(plain_text(v) for v in value) or "—"
    return str(value)


def humanize(key) -> str:
    """A stored key as words: "validation_documents" → "validation documents"."""
    key = str(key)
    if key in HYPERPARAMETER_KEYS or not key.islower():
        return key  # C, alpha: the names the libraries use
    return key.replace("_", " ")


def parameter_rows(params) -> list[dict]:
    """Rows of a version's training parameters (minus the search's candidates): known settings
    under their names in words, others under the name the trainer stores (`code` is true)."""
    if not isinstance(params, dict):
        return []
    known = [k for k in PARAMETER_NAMES if k in params]
    rest = sorted(k for k in params if k not in PARAMETER_NAMES and k not in _SEARCH_KEYS)
    rows = []
    for key in known + rest:
        value = params[key]
        if key == "hyperparameters" and isinstance(value, dict):
            text = ", ".join(f"{k} = {plain_text(v)}" for k, v in value.items()) or "—"
        else:
            text = plain_text(value)
        rows.append(
            {
                "name": PARAMETER_NAMES.get(key, str(key)),
                "value": text,
                "code": key not in PARAMETER_NAMES,
            }
        )
    return rows


def _is_chosen(result: dict, params: dict) -> bool:
    if "chosen" in result:
        return bool(result["chosen"])
    if "skipped" in result or result.get("features") != params.get("features"):
        return False
    if result.get("model") != params.get("model"):
        return False
    chosen = params.get("hyperparameters") or {}
    return all(result.get(k) == v for k, v in chosen.items())


def candidate_rows(params) -> dict | None:
    """The model search as a table: one row per candidate tried or skipped, the chosen marked.

    Reads `training_parameters["candidates"]` (a list of result dicts); keys it does not know
    are shown as notes, so a result with new keys still reads as text.
    """
    results = params.get("candidates") if isinstance(params, dict) else None
    if not isinstance(results, list) or not results:
        return None
    rows, metric, chosen_seen = [], "", False
    for result in results:
        if not isinstance(result, dict):
            continue
        score_key = next((k for k in result if str(k).startswith("validation_")), None)
        if score_key and not metric:
            metric = str(score_key).removeprefix("validation_").replace("_", " ")
        hyper = result.get("hyperparameters")
        if not isinstance(hyper, dict):
            hyper = {k: result[k] for k in HYPERPARAMETER_KEYS if k in result}
        notes = {
            k: v
            for k, v in result.items()
            if k not in _RESULT_COLUMNS
            and k not in hyper
            and k != "hyperparameters"
            and k != score_key
        }
        chosen = not chosen_seen and _is_chosen(result, params)
        chosen_seen = chosen_seen or chosen
        skipped = result.get("skipped")
        if chosen:
            outcome = "Chosen"
        elif skipped:
            outcome = f"Skipped: {plain_text(skipped)}"
        else:
            outcome = "Tried"
        features = result.get("features")
        score = result.get(score_key) if score_key else None
        rows.append(
            {
                "candidate": plain_text(
                    result.get("candidate") or (f"{features} features" if features else None)
                ),
                "features": plain_text(features),
                "model": plain_text(result.get("model")),
                "hyperparameters": ", ".join(f"{k} = {plain_text(v)}" for k, v in hyper.items())
                or "—",
                "score": f"{score:.4f}" if isinstance(score, int | float) else plain_text(score),
                "score_sort": score if isinstance(score, int | float) else -1,
                "seconds": plain_text(result.get("seconds")),
                "work": plain_text(result.get("work")),
                "outcome": outcome,
                "chosen": chosen,
                "skipped": bool(skipped),
                "notes": "; ".join(f"{humanize(k)}: {plain_text(v)}" for k, v in notes.items()),
            }
        )
    if not rows:
        return None
    return {
        "rows": rows,
        "metric": metric or "score",
        "has_notes": any(r["notes"] for r in rows),
        "tried": sum(1 for r in rows if not r["skipped"]),
        "skipped": sum(1 for r in rows if r["skipped"]),
    }


def confusion_pairs(labels, matrix, most: int = 25) -> list[dict]:
    """The off-diagonal cells of a multi-class confusion matrix, most documents first.

    Ties keep the matrix order (true label, then predicted label), so the table is stable.
    """
    pairs = []
    for i, row in enumerate(matrix or []):
        for j, count in enumerate(row or []):
            if i != j and count:
                pairs.append(
                    {"true": labels[i], "predicted": labels[j], "count": count, "row": i, "col": j}
                )
    pairs.sort(key=lambda p: (-p["count"], p["row"], p["col"]))
    total = {i: sum(row) for i, row in enumerate(matrix or [])}
    for pair in pairs:
        pair["share"] = pair["count"] / total[pair["row"]] if total[pair["row"]] else 0.0
    return pairs[:most]
