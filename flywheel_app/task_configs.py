"""TaskConfig: what a flywheel's model does (language, mode, labels or entity types)."""

from models_app.kinds import ModelKind
from models_app.models import ModelVersion


def version_labels(version: ModelVersion) -> list[str]:
    """The labels a classifier version knows, or the entity types of a recognizer version
    ([] when its row does not say)."""
    if version.model.kind == ModelKind.RECOGNIZER:
        return [t["Type"] for t in (version.input_data_config or {}).get("EntityTypes") or []]
    if version.per_label_metrics:
        return [row["label"] for row in version.per_label_metrics if "label" in row]
    matrix = (version.evaluation or {}).get("confusion_matrix") or {}
    return list(matrix.get("all_labels") or [])


def task_config_of(version: ModelVersion) -> dict:
    """The TaskConfig a flywheel started from `version` has."""
    if version.model.kind == ModelKind.RECOGNIZER:
        return {
            "LanguageCode": version.language_code,
            "EntityRecognitionConfig": {
                "EntityTypes": [{"Type": t} for t in version_labels(version)]
            },
        }
    config = {"Mode": version.mode or "MULTI_CLASS"}
    labels = version_labels(version)
    if labels:
        config["Labels"] = labels
    return {"LanguageCode": version.language_code, "DocumentClassificationConfig": config}


def with_labels(task_config: dict, kind: str, version: ModelVersion | None) -> dict:
    """The flywheel's TaskConfig with its labels or entity types filled from its model when the
    flywheel was created without them."""
    config = {k: (dict(v) if isinstance(v, dict) else v) for k, v in task_config.items()}
    if version is None:
        return config
    labels = version_labels(version)
    if kind == ModelKind.CLASSIFIER:
        section = config.setdefault("DocumentClassificationConfig", {"Mode": version.mode})
        if not section.get("Labels") and labels:
            section["Labels"] = labels
    else:
        section = config.setdefault("EntityRecognitionConfig", {})
        if not section.get("EntityTypes") and labels:
            section["EntityTypes"] = [{"Type": t} for t in labels]
    return config
