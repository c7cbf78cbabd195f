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
