"""Document classifiers and entity recognizers: the operations on their versions."""

from models_app import kinds, selectors
from models_app.presenters import model_summary, version_properties
from models_app.services import classifiers, recognizers
from webapp.api import protocol
from webapp.core.errors import invalid_request


def _list(spec):
    def handler(account, user, body):
        flt = body.get("Filter") or {}
        qs = selectors.versions_filtered(
            account,
            spec.kind,
            status=flt.get("Status"),
            name=flt.get(spec.name_field),
            submitted_before=protocol.filter_time(flt.get("SubmitTimeBefore")),
            submitted_after=protocol.filter_time(flt.get("SubmitTimeAfter")),
        )
        return protocol.listing(
            qs,
            body,
            key=spec.list_key,
            render=version_properties,
            scope=f"list-{spec.kind}-{sorted(flt.items())}",
        )

    return handler


def _summaries(spec):
    def handler(account, user, body):
        return protocol.listing(
            selectors.models(account, spec.kind).order_by("name"),
            body,
            key=spec.summaries_key,
            render=model_summary,
            scope=f"summaries-{spec.kind}",
        )

    return handler


list_document_classifiers = _list(kinds.CLASSIFIER)
list_entity_recognizers = _list(kinds.RECOGNIZER)
list_document_classifier_summaries = _summaries(kinds.CLASSIFIER)
list_entity_recognizer_summaries = _summaries(kinds.RECOGNIZER)


def create_document_classifier(account, user, body):
    if body.get("VpcConfig"):
        raise invalid_request("VpcConfig does not apply to a self-hosted Textwheel.")
    version = classifiers.classifier_create(
        account=account,
        name=body["DocumentClassifierName"],
        version_name=body.get("VersionName"),
        language_code=body["LanguageCode"],
        mode=body.get("Mode") or "MULTI_CLASS",
        input_data_config=body["InputDataConfig"],
        output_data_config=body.get("OutputDataConfig"),
        data_access_role_arn=body["DataAccessRoleArn"],
        tags=body.get("Tags"),
        client_request_token=body.get("ClientRequestToken"),
        volume_kms_key_id=body.get("VolumeKmsKeyId"),
        model_kms_key_id=body.get("ModelKmsKeyId"),
        model_policy=body.get("ModelPolicy") or "",
    )
    return {"DocumentClassifierArn": version.arn}


def describe_document_classifier(account, user, body):
    version = classifiers.classifier_describe(
        account=account, arn=body["DocumentClassifierArn"], principal=user
    )
    return {kinds.CLASSIFIER.properties_key: version_properties(version)}


def stop_training_document_classifier(account, user, body):
    classifiers.classifier_stop(account=account, arn=body["DocumentClassifierArn"], principal=user)
    return {}


def delete_document_classifier(account, user, body):
    classifiers.classifier_delete(
        account=account, arn=body["DocumentClassifierArn"], principal=user
    )
    return {}


def create_entity_recognizer(account, user, body):
    if body.get("VpcConfig"):
        raise invalid_request("VpcConfig does not apply to a self-hosted Textwheel.")
    version = recognizers.recognizer_create(
        account=account,
        name=body["RecognizerName"],
        version_name=body.get("VersionName"),
        language_code=body["LanguageCode"],
        input_data_config=body["InputDataConfig"],
        data_access_role_arn=body["DataAccessRoleArn"],
        tags=body.get("Tags"),
        client_request_token=body.get("ClientRequestToken"),
        volume_kms_key_id=body.get("VolumeKmsKeyId"),
        model_kms_key_id=body.get("ModelKmsKeyId"),
        model_policy=body.get("ModelPolicy") or "",
    )
    return {"EntityRecognizerArn": version.arn}


def describe_entity_recognizer(account, user, body):
    version = recognizers.recognizer_describe(
        account=account, arn=body["EntityRecognizerArn"], principal=user
    )
    return {kinds.RECOGNIZER.properties_key: version_properties(version)}


def stop_training_entity_recognizer(account, user, body):
    recognizers.recognizer_stop(account=account, arn=body["EntityRecognizerArn"], principal=user)
    return {}


def delete_entity_recognizer(account, user, body):
    recognizers.recognizer_delete(account=account, arn=body["EntityRecognizerArn"], principal=user)
    return {}
