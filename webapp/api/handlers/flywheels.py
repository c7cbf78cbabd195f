"""Flywheels and their datasets."""

from flywheel_app import selectors
from flywheel_app.presenters import dataset_properties, flywheel_properties, flywheel_summary
from flywheel_app.services import datasets, flywheels
from webapp.api import protocol


def _latest(flywheel) -> str | None:
    return selectors.latest_iteration_ids([flywheel.pk]).get(flywheel.pk)


def create_flywheel(account, user, body):
    flywheel = flywheels.flywheel_create(
        account=account,
        name=body["FlywheelName"],
        data_access_role_arn=body["DataAccessRoleArn"],
        data_lake_s3_uri=body["DataLakeS3Uri"],
        active_model_arn=body.get("ActiveModelArn"),
        model_type=body.get("ModelType"),
        task_config=body.get("TaskConfig"),
        data_security_config=body.get("DataSecurityConfig"),
        client_request_token=body.get("ClientRequestToken"),
        tags=body.get("Tags"),
        principal=user,
    )
    return {
        "FlywheelArn": flywheel.arn,
        "ActiveModelArn": flywheel.active_version.arn if flywheel.active_version else None,
    }


def describe_flywheel(account, user, body):
    flywheel = flywheels.flywheel_describe(account=account, arn=body["FlywheelArn"])
    return {"FlywheelProperties": flywheel_properties(flywheel, _latest(flywheel))}


def list_flywheels(account, user, body):
    flt = body.get("Filter") or {}
    qs = selectors.flywheels_filtered(
        account,
        status=flt.get("Status"),
        created_before=protocol.filter_time(flt.get("CreationTimeBefore")),
        created_after=protocol.filter_time(flt.get("CreationTimeAfter")),
    )
    rows, token = protocol.page(
        qs,
        next_token=body.get("NextToken"),
        max_results=body.get("MaxResults"),
        scope=f"flywheels-{sorted(flt.items())}",
    )
    latest = selectors.latest_iteration_ids(row.pk for row in rows)
    return {
        "FlywheelSummaryList": [flywheel_summary(row, latest.get(row.pk)) for row in rows],
        "NextToken": token,
    }


def update_flywheel(account, user, body):
    flywheel = flywheels.flywheel_update(
        account=account,
        arn=body["FlywheelArn"],
        active_model_arn=body.get("ActiveModelArn"),
        data_access_role_arn=body.get("DataAccessRoleArn"),
        data_security_config=body.get("DataSecurityConfig"),
        principal=user,
    )
    return {"FlywheelProperties": flywheel_properties(flywheel, _latest(flywheel))}


def delete_flywheel(account, user, body):
    flywheels.flywheel_delete(account=account, arn=body["FlywheelArn"])
    return {}


def create_dataset(account, user, body):
    dataset = datasets.dataset_create(
        account=account,
        flywheel_arn=body["FlywheelArn"],
        name=body["DatasetName"],
        dataset_type=body.get("DatasetType"),
        description=body.get("Description"),
        input_data_config=body["InputDataConfig"],
        client_request_token=body.get("ClientRequestToken"),
        tags=body.get("Tags"),
    )
    return {"DatasetArn": dataset.arn}


def describe_dataset(account, user, body):
    dataset = datasets.dataset_describe(account=account, arn=body["DatasetArn"])
    return {"DatasetProperties": dataset_properties(dataset)}


def list_datasets(account, user, body):
    flywheel = None
    if body.get("FlywheelArn"):
        flywheel = selectors.flywheel_for(account, body["FlywheelArn"])
    flt = body.get("Filter") or {}
    qs = selectors.datasets_filtered(
        account,
        flywheel=flywheel,
        status=flt.get("Status"),
        dataset_type=flt.get("DatasetType"),
        created_before=protocol.filter_time(flt.get("CreationTimeBefore")),
        created_after=protocol.filter_time(flt.get("CreationTimeAfter")),
    )
    return protocol.listing(
        qs,
        body,
        key="DatasetPropertiesList",
        render=dataset_properties,
        scope=f"datasets-{body.get('FlywheelArn')}-{sorted(flt.items())}",
    )
