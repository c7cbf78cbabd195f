"""Document classifiers: checking a create request and the operations on them."""

from django.db import transaction

from models_app import selectors
from models_app.models import ModelKind, ModelVersion
from models_app.services import base_model_choice, versions
from models_app.services.resource_policies import policy_attach
from webapp.core import storage
from webapp.core.errors import invalid_request, validation_error

MODES = ("MULTI_CLASS", "MULTI_LABEL")
FORMATS = ("COMPREHEND_CSV", "AUGMENTED_MANIFEST")
# Comprehend accepts these single characters as a multi-label delimiter.
DELIMITERS = set("|~!@#$%^*-_+=\\:;>?/")


def check_input(account, config, *, mode: str) -> dict:
    """Validate InputDataConfig as Comprehend does; returns the config to record."""
    if not isinstance(config, dict):
        raise validation_error("InputDataConfig is required.", field="InputDataConfig")
    fmt = config.get("DataFormat") or "COMPREHEND_CSV"
    if fmt not in FORMATS:
        raise validation_error(
            f"InputDataConfig.DataFormat must be one of {', '.join(FORMATS)}.",
            field="InputDataConfig.DataFormat",
        )
    if config.get("DocumentType", "PLAIN_TEXT_DOCUMENT") != "PLAIN_TEXT_DOCUMENT":
        raise invalid_request(
            "Textwheel trains on plain-text documents only.", field="InputDataConfig.DocumentType"
        )
    clean = {"DataFormat": fmt}
    delimiter = config.get("LabelDelimiter")
    if delimiter is not None:
        if mode != "MULTI_LABEL":
            raise invalid_request(
                "LabelDelimiter applies only to MULTI_LABEL classifiers.",
                field="InputDataConfig.LabelDelimiter",
            )
        if len(delimiter) != 1 or delimiter not in DELIMITERS:
            raise validation_error(
                "InputDataConfig.LabelDelimiter must be one of the characters "
                + " ".join(sorted(DELIMITERS))
                + ".",
                field="InputDataConfig.LabelDelimiter",
            )
        clean["LabelDelimiter"] = delimiter
    if fmt == "COMPREHEND_CSV":
        if config.get("AugmentedManifests"):
            raise invalid_request(
                "AugmentedManifests needs DataFormat AUGMENTED_MANIFEST.",
                field="InputDataConfig.DataFormat",
            )
        if not config.get("S3Uri"):
            raise invalid_request(
                "InputDataConfig.S3Uri is required for COMPREHEND_CSV data.",
                field="InputDataConfig.S3Uri",
            )
        clean["S3Uri"] = versions.check_uri(
            account, config["S3Uri"], "InputDataConfig.S3Uri", must_exist=True
        )
        if config.get("TestS3Uri"):
            clean["TestS3Uri"] = versions.check_uri(
                account, config["TestS3Uri"], "InputDataConfig.TestS3Uri", must_exist=True
            )
    else:
        manifests = config.get("AugmentedManifests") or []
        if not manifests:
            raise invalid_request(
                "AUGMENTED_MANIFEST data needs InputDataConfig.AugmentedManifests.",
                field="InputDataConfig.AugmentedManifests",
            )
        clean_manifests, splits = [], []
        for i, item in enumerate(manifests, start=1):
            where = f"InputDataConfig.AugmentedManifests.{i}"
            # One attribute per labelling job: more than one for a chained job's output.
            names = item.get("AttributeNames") or []
            if not names:
                raise validation_error(
                    f"{where}.AttributeNames must name the label attribute of each labelling job.",
                    field=f"{where}.AttributeNames",
                )
            split = item.get("Split") or "TRAIN"
            splits.append(split)
            clean_manifests.append(
                {
                    "S3Uri": versions.check_uri(
                        account, item.get("S3Uri"), f"{where}.S3Uri", must_exist=True
                    ),
                    "AttributeNames": names,
                    "Split": split,
                }
            )
        if "TRAIN" not in splits:
            raise invalid_request("At least one augmented manifest must have Split TRAIN.")
        if splits.count("TEST") > 1 or splits.count("TRAIN") > 1:
            raise invalid_request("Give at most one TRAIN and one TEST augmented manifest.")
        clean["AugmentedManifests"] = clean_manifests
    return clean


def check_output_room(account_id: str, uri, max_length: int) -> None:
    """Refuse an output location too long for the output path recorded below it."""
    # Output goes to <S3Uri>/<account>-<code>-<32 hex>/output/output.tar.gz and that whole path is
    # stored; botocore allows the S3Uri itself 1,024 characters, which leaves it no room.
    probe = uri.join(f"{account_id}-XXX-{'0' * 32}", "output", "output.tar.gz")
    room = max_length - (len(str(probe)) - len(str(uri)))
    if len(str(uri)) > room:
        raise validation_error(
            "1 validation error detected: Value at 'outputDataConfig.s3Uri' failed to satisfy "
            f"constraint: Member must have length less than or equal to {room}",
            field="OutputDataConfig.S3Uri",
        )


def check_output(account, config) -> dict:
    """Validate OutputDataConfig; its S3Uri must be a folder, since output is written below it."""
    if not config:
        return {}
    clean = {}
    if config.get("S3Uri"):
        uri = storage.check_output_location(
            account.account_id, config["S3Uri"], field="OutputDataConfig.S3Uri"
        )
        check_output_room(
            account.account_id, uri, ModelVersion._meta.get_field("output_uri").max_length
        )
        clean["S3Uri"] = str(uri)
    if config.get("KmsKeyId"):
        clean["KmsKeyId"] = config["KmsKeyId"]
    return clean


def classifier_create(
    *,
    account,
    name,
    version_name=None,
    language_code="en",
    mode="MULTI_CLASS",
    input_data_config,
    output_data_config=None,
    data_access_role_arn,
    tags=None,
    client_request_token=None,
    volume_kms_key_id="",
    model_kms_key_id="",
    parent: ModelVersion | None = None,
    model_policy: str = "",
) -> ModelVersion:
    """Create a classifier version and queue its training."""
    common = versions.check_common(
        kind=ModelKind.CLASSIFIER,
        model_name=name,
        version_name=version_name,
        language_code=language_code,
        data_access_role_arn=data_access_role_arn,
        tags=tags,
        client_request_token=client_request_token,
    )
    base_model_choice.check_tags(common["tags"])
    mode = mode or "MULTI_CLASS"
    if mode not in MODES:
        raise validation_error(f"Mode must be one of {', '.join(MODES)}.", field="Mode")
    spec = versions.VersionSpec(
        kind=ModelKind.CLASSIFIER,
        mode=mode,
        input_data_config=check_input(account, input_data_config, mode=mode),
        output_data_config=check_output(account, output_data_config),
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


def classifier_describe(*, account, arn: str, principal=None) -> ModelVersion:
    return selectors.version_for(account, arn, kind=ModelKind.CLASSIFIER, principal=principal)


def classifier_stop(*, account, arn: str, principal=None) -> ModelVersion:
    """StopTrainingDocumentClassifier."""
    return versions.version_stop(
        account=account, kind=ModelKind.CLASSIFIER, arn=arn, principal=principal
    )


def classifier_delete(*, account, arn: str, principal=None) -> None:
    """DeleteDocumentClassifier."""
    from models_app.services.endpoints import version_in_use_check

    versions.version_delete(
        account=account,
        kind=ModelKind.CLASSIFIER,
        arn=arn,
        in_use_check=version_in_use_check,
        principal=principal,
    )
