"""TaskConfig: what a flywheel's model does (language, mode, labels or entity types)."""

from flywheel_app import kind_ops
from models_app.models import ModelVersion


def version_labels(version: ModelVersion) -> list[str]:
    """The labels a classifier version knows, or the entity types of a recognizer version
    ([] when its row does not say)."""
    return kind_ops.pick(version.model.kind, labels=_known_labels, spans=_known_types)(version)


def _known_types(version: ModelVersion) -> list[str]:
    return [t["Type"] for t in (version.input_data_config or {}).get("EntityTypes") or []]


def _known_labels(version: ModelVersion) -> list[str]:
    if version.per_label_metrics:
        return [row["label"] for row in version.per_label_metrics if "label" in row]
    matrix = (version.evaluation or {}).get("confusion_matrix") or {}
    return list(matrix.get("all_labels") or [])


def task_config_of(version: ModelVersion) -> dict:
    """The TaskConfig a flywheel started from `version` has."""
    return kind_ops.pick(version.model.kind, labels=_labels_config, spans=_types_config)(version)


def _types_config(version: ModelVersion) -> dict:
    return {
        "LanguageCode": version.language_code,
        "EntityRecognitionConfig": {"EntityTypes": [{"Type": t} for t in version_labels(version)]},
    }


def _labels_config(version: ModelVersion) -> dict:
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
    kind_ops.pick(kind, labels=_fill_labels, spans=_fill_types)(config, version, labels)
    return config


def _fill_labels(config: dict, version: ModelVersion, labels: list[str]) -> None:
    section = config.setdefault("DocumentClassificationConfig", {"Mode": version.mode})
    if not section.get("Labels") and labels:
        section["Labels"] = labels


def _fill_types(config: dict, version: ModelVersion, labels: list[str]) -> None:
    section = config.setdefault("EntityRecognitionConfig", {})
    if not section.get("EntityTypes") and labels:
        section["EntityTypes"] = [{"Type": t} for t in labels]
