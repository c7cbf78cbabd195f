"""Entity recognizers: checking a create request and the operations on them."""

from django.db import transaction

from models_app import selectors
from models_app.ml.errors import DataError
from models_app.ml.ner_formats import check_entity_types
from models_app.models import ModelKind, ModelVersion
from models_app.services import base_model_choice, versions
from models_app.services.resource_policies import policy_attach
from webapp.core.errors import invalid_request, validation_error

FORMATS = ("COMPREHEND_CSV", "AUGMENTED_MANIFEST")
INPUT_FORMATS = ("ONE_DOC_PER_LINE", "ONE_DOC_PER_FILE")


def check_input(account, config) -> dict:
    """Validate a recognizer's InputDataConfig as Comprehend does; returns the config to record."""
    if not isinstance(config, dict):
        raise validation_error("InputDataConfig is required.", field="InputDataConfig")
    fmt = config.get("DataFormat") or "COMPREHEND_CSV"
    if fmt not in FORMATS:
        raise validation_error(
            f"InputDataConfig.DataFormat must be one of {', '.join(FORMATS)}.",
            field="InputDataConfig.DataFormat",
        )
    types = [
        t.get("Type") if isinstance(t, dict) else None for t in config.get("EntityTypes") or []
    ]
    if not types:
        raise invalid_request(
            "InputDataConfig.EntityTypes must list at least one entity type.",
            field="InputDataConfig.EntityTypes",
        )
    try:
        types = check_entity_types(types)
    except DataError as exc:
        raise invalid_request(
            f"InputDataConfig.EntityTypes: {exc}", field="InputDataConfig.EntityTypes"
        ) from None
    clean = {"DataFormat": fmt, "EntityTypes": [{"Type": t} for t in types]}
    if fmt == "AUGMENTED_MANIFEST":
        manifests = config.get("AugmentedManifests") or []
        if not manifests:
            raise invalid_request(
                "AUGMENTED_MANIFEST data needs InputDataConfig.AugmentedManifests.",
                field="InputDataConfig.AugmentedManifests",
            )
        clean_manifests = []
        for i, item in enumerate(manifests, start=1):
            where = f"InputDataConfig.AugmentedManifests.{i}"
            names = item.get("AttributeNames") or []
            if not names:
                raise validation_error(
                    f"{where}.AttributeNames must name the labelling attribute.",
                    field=f"{where}.AttributeNames",
                )
            clean_manifests.append(
                {
                    "S3Uri": versions.check_uri(
                        account, item.get("S3Uri"), f"{where}.S3Uri", must_exist=True
                    ),
                    "AttributeNames": names,
                    "Split": item.get("Split") or "TRAIN",
                }
            )
        if [m["Split"] for m in clean_manifests].count("TRAIN") != 1:
            raise invalid_request("Give exactly one TRAIN augmented manifest.")
        clean["AugmentedManifests"] = clean_manifests
        return clean

    documents = config.get("Documents") or {}
    if not documents.get("S3Uri"):
        raise invalid_request(
            "InputDataConfig.Documents.S3Uri is required.", field="InputDataConfig.Documents.S3Uri"
        )
    input_format = documents.get("InputFormat") or "ONE_DOC_PER_LINE"
    if input_format not in INPUT_FORMATS:
        raise validation_error(
            f"InputDataConfig.Documents.InputFormat must be one of {', '.join(INPUT_FORMATS)}.",
            field="InputDataConfig.Documents.InputFormat",
        )
    clean_docs = {
        "S3Uri": versions.check_uri(
            account, documents["S3Uri"], "InputDataConfig.Documents.S3Uri", must_exist=True
        ),
        "InputFormat": input_format,
    }
    annotations = config.get("Annotations") or {}
    entity_list = config.get("EntityList") or {}
    if bool(annotations.get("S3Uri")) == bool(entity_list.get("S3Uri")):
        raise invalid_request(
            "Give either InputDataConfig.Annotations or InputDataConfig.EntityList, not both "
            "and not neither.",
            field="InputDataConfig.Annotations",
        )
    if annotations.get("S3Uri"):
        clean["Annotations"] = {
            "S3Uri": versions.check_uri(
                account, annotations["S3Uri"], "InputDataConfig.Annotations.S3Uri", must_exist=True
            )
        }
        has_test_docs, has_test_ann = (
            bool(documents.get("TestS3Uri")),
            bool(annotations.get("TestS3Uri")),
        )
        if has_test_docs != has_test_ann:
            raise invalid_request(
                "A test set needs both Documents.TestS3Uri and Annotations.TestS3Uri.",
                field="InputDataConfig.Documents.TestS3Uri",
            )
        if has_test_docs:
            clean_docs["TestS3Uri"] = versions.check_uri(
                account,
                documents["TestS3Uri"],
                "InputDataConfig.Documents.TestS3Uri",
                must_exist=True,
            )
            clean["Annotations"]["TestS3Uri"] = versions.check_uri(
                account,
                annotations["TestS3Uri"],
                "InputDataConfig.Annotations.TestS3Uri",
                must_exist=True,
            )
    else:
        if documents.get("TestS3Uri"):
            raise invalid_request(
                "An entity-list recognizer is tested on a split of its own documents; "
                "Documents.TestS3Uri needs Annotations.",
                field="InputDataConfig.Documents.TestS3Uri",
            )
        clean["EntityList"] = {
            "S3Uri": versions.check_uri(
                account, entity_list["S3Uri"], "InputDataConfig.EntityList.S3Uri", must_exist=True
            )
        }
    clean["Documents"] = clean_docs
    return clean


def recognizer_create(
    *,
    account,
    name,
    version_name=None,
    language_code="en",
    input_data_config,
    data_access_role_arn,
    tags=None,
    client_request_token=None,
    volume_kms_key_id="",
    model_kms_key_id="",
    parent: ModelVersion | None = None,
    model_policy: str = "",
) -> ModelVersion:
    """Create an entity recognizer version and queue its training."""
    common = versions.check_common(
        kind=ModelKind.RECOGNIZER,
        model_name=name,
        version_name=version_name,
        language_code=language_code,
        data_access_role_arn=data_access_role_arn,
        tags=tags,
        client_request_token=client_request_token,
    )
    base_model_choice.check_tags(common["tags"])
    spec = versions.VersionSpec(
        kind=ModelKind.RECOGNIZER,
        input_data_config=check_input(account, input_data_config),
        **versions.check_keys(
            account, model_kms_key_id=model_kms_key_id, volume_kms_key_id=volume_kms_key_id
        ),
        parent=parent,
        **common,
    )
    with transaction.atomic():  # a ModelPolicy that does not parse leaves nothing created
        version = versions.version_create(account=account, spec=spec)
        if model_policy:
            policy_attach(version=version, policy_text=model_policy, field="ModelPolicy")
    return version


def recognizer_describe(*, account, arn: str, principal=None) -> ModelVersion:
    return selectors.version_for(account, arn, kind=ModelKind.RECOGNIZER, principal=principal)


def recognizer_stop(*, account, arn: str, principal=None) -> ModelVersion:
    """StopTrainingEntityRecognizer."""
    return versions.version_stop(
        account=account, kind=ModelKind.RECOGNIZER, arn=arn, principal=principal
    )


def recognizer_delete(*, account, arn: str, principal=None) -> None:
    """DeleteEntityRecognizer."""
    from models_app.services.endpoints import version_in_use_check

    versions.version_delete(
        account=account,
        kind=ModelKind.RECOGNIZER,
        arn=arn,
        in_use_check=version_in_use_check,
        principal=principal,
    )
