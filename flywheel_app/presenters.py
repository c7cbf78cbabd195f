"""Rows shaped as Comprehend's FlywheelProperties, FlywheelSummary and DatasetProperties."""

from flywheel_app.models import Dataset, Flywheel
from flywheel_app.task_configs import with_labels


def _shared(f: Flywheel, latest_iteration: str | None) -> dict:
    return {
        "FlywheelArn": f.arn,
        "ActiveModelArn": f.active_version.arn if f.active_version else None,
        "DataLakeS3Uri": f.data_lake_uri,
        "Status": f.status,
        "ModelType": f.model_type,
        "Message": f.message or None,
        "CreationTime": f.created_at,
        "LastModifiedTime": f.updated_at,
        "LatestFlywheelIteration": latest_iteration or None,
    }


def flywheel_properties(f: Flywheel, latest_iteration: str | None = None) -> dict:
    """FlywheelProperties of one flywheel."""
    props = _shared(f, latest_iteration)
    props.update(
        DataAccessRoleArn=f.data_access_role_arn,
        TaskConfig=with_labels(f.task_config, f.kind, f.active_version),
        DataSecurityConfig=f.data_security_config or None,
    )
    return props


def flywheel_summary(f: Flywheel, latest_iteration: str | None = None) -> dict:
    """FlywheelSummary of one flywheel (ListFlywheels)."""
    return _shared(f, latest_iteration)


def dataset_properties(d: Dataset) -> dict:
    """DatasetProperties of one dataset."""
    return {
        "DatasetArn": d.arn,
        "DatasetName": d.name,
        "DatasetType": d.dataset_type,
        "DatasetS3Uri": d.dataset_s3_uri or None,
        "Description": d.description or None,
        "Status": d.status,
        "Message": d.message or None,
        "NumberOfDocuments": d.number_of_documents,
        "CreationTime": d.created_at,
        "EndTime": d.end_time,
    }
