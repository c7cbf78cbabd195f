"""Endpoints, real-time analysis and asynchronous analysis jobs."""

from models_app import kinds, selectors
from models_app.models import JobKind
from models_app.presenters import endpoint_properties, job_properties
from models_app.services import analysis_jobs, endpoints
from webapp.api import protocol

# Endpoints.


def create_endpoint(account, user, body):
    endpoint = endpoints.endpoint_create(
        account=account,
        name=body["EndpointName"],
        model_arn=body.get("ModelArn"),
        flywheel_arn=body.get("FlywheelArn"),
        desired_units=body["DesiredInferenceUnits"],
        data_access_role_arn=body.get("DataAccessRoleArn"),
        tags=body.get("Tags"),
        client_request_token=body.get("ClientRequestToken"),
        principal=user,
    )
    model = endpoint.version or endpoint.desired_version
    return {"EndpointArn": endpoint.arn, "ModelArn": model.arn if model else None}


def describe_endpoint(account, user, body):
    endpoint = endpoints.endpoint_describe(account=account, arn=body["EndpointArn"])
    return {"EndpointProperties": endpoint_properties(endpoint)}


def list_endpoints(account, user, body):
    flt = body.get("Filter") or {}
    qs = selectors.endpoints_filtered(
        account,
        model_arn=flt.get("ModelArn"),
        status=flt.get("Status"),
        created_before=protocol.filter_time(flt.get("CreationTimeBefore")),
        created_after=protocol.filter_time(flt.get("CreationTimeAfter")),
    )
    return protocol.listing(
        qs,
        body,
        key="EndpointPropertiesList",
        render=endpoint_properties,
        scope=f"list-endpoints-{sorted(flt.items())}",
    )


def update_endpoint(account, user, body):
    endpoint = endpoints.endpoint_update(
        account=account,
        arn=body["EndpointArn"],
        desired_model_arn=body.get("DesiredModelArn"),
        desired_units=body.get("DesiredInferenceUnits"),
        desired_data_access_role_arn=body.get("DesiredDataAccessRoleArn"),
        flywheel_arn=body.get("FlywheelArn"),
        principal=user,
    )
    desired = endpoint.desired_version
    return {"DesiredModelArn": desired.arn if desired else None}


def delete_endpoint(account, user, body):
    endpoints.endpoint_delete(account=account, arn=body["EndpointArn"])
    return {}


# Real-time analysis.


def classify_document(account, user, body):
    return endpoints.classify_document(
        account=account,
        endpoint_arn=body["EndpointArn"],
        text=body.get("Text"),
        bytes_given="Bytes" in body,
        reader_config="DocumentReaderConfig" in body,
    )


def detect_entities(account, user, body):
    found = endpoints.detect_entities(
        account=account,
        endpoint_arn=body.get("EndpointArn"),
        text=body.get("Text"),
        bytes_given="Bytes" in body,
        reader_config="DocumentReaderConfig" in body,
    )
    return {"Entities": found}


# Asynchronous analysis jobs.


def _start(kind, account, user, body):
    model_field = kinds.of_job(kind).arn_field
    job = analysis_jobs.job_start(
        account=account,
        kind=kind,
        job_name=body.get("JobName"),
        model_arn=body.get(model_field),
        flywheel_arn=body.get("FlywheelArn"),
        input_data_config=body["InputDataConfig"],
        output_data_config=body["OutputDataConfig"],
        data_access_role_arn=body["DataAccessRoleArn"],
        language_code=body.get("LanguageCode"),
        tags=body.get("Tags"),
        client_request_token=body.get("ClientRequestToken"),
        volume_kms_key_id=body.get("VolumeKmsKeyId"),
        vpc_config=body.get("VpcConfig"),
        principal=user,
    )
    return {
        "JobId": job.job_id,
        "JobArn": job.arn,
        "JobStatus": job.status,
        model_field: job.model_arn or None,
    }


def start_document_classification_job(account, user, body):
    return _start(JobKind.CLASSIFICATION, account, user, body)


def start_entities_detection_job(account, user, body):
    return _start(JobKind.ENTITIES, account, user, body)


def _describe(kind):
    def handler(account, user, body):
        job = analysis_jobs.job_describe(account=account, kind=kind, job_id=body["JobId"])
        return {kinds.of_job(kind).job_properties_key: job_properties(job)}

    return handler


def _list(kind):
    def handler(account, user, body):
        flt = body.get("Filter") or {}
        qs = selectors.jobs_filtered(
            account,
            kind,
            name=flt.get("JobName"),
            status=flt.get("JobStatus"),
            submitted_before=protocol.filter_time(flt.get("SubmitTimeBefore")),
            submitted_after=protocol.filter_time(flt.get("SubmitTimeAfter")),
        )
        return protocol.listing(
            qs,
            body,
            key=kinds.of_job(kind).job_list_key,
            render=job_properties,
            scope=f"list-jobs-{kind}-{sorted(flt.items())}",
        )

    return handler


describe_document_classification_job = _describe(JobKind.CLASSIFICATION)
describe_entities_detection_job = _describe(JobKind.ENTITIES)
list_document_classification_jobs = _list(JobKind.CLASSIFICATION)
list_entities_detection_jobs = _list(JobKind.ENTITIES)


def stop_entities_detection_job(account, user, body):
    job = analysis_jobs.job_stop(account=account, kind=JobKind.ENTITIES, job_id=body["JobId"])
    return {"JobId": job.job_id, "JobStatus": job.status}
