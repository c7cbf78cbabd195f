"""Iterations shaped as Comprehend's FlywheelIterationProperties."""

from flywheel_app.models import FlywheelIteration


def iteration_properties(it: FlywheelIteration) -> dict:
    """FlywheelIterationProperties of one iteration."""
    return {
        "FlywheelArn": it.flywheel.arn,
        "FlywheelIterationId": it.iteration_id,
        "CreationTime": it.created_at,
        "EndTime": it.end_time,
        "Status": it.status,
        "Message": it.message or None,
        "EvaluatedModelArn": it.evaluated_version.arn if it.evaluated_version else None,
        "EvaluatedModelMetrics": it.evaluated_metrics or None,
        "TrainedModelArn": it.trained_version.arn if it.trained_version else None,
        "TrainedModelMetrics": it.trained_metrics or None,
        "EvaluationManifestS3Prefix": it.evaluation_manifest_s3_prefix or None,
    }
