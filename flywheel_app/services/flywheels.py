"""Flywheels: create (and fill the data lake), describe, update, delete."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from flywheel_app import kind_ops, selectors
from flywheel_app.models import (
    DatasetStatus,
    Flywheel,
    FlywheelStatus,
    IterationStatus,
    ModelType,
)
from flywheel_app.services import datalake
from flywheel_app.task_configs import task_config_of, version_labels
from models_app import kinds
from models_app import selectors as model_selectors
from models_app.ml import ner_formats
from models_app.ml.errors import DataError
from models_app.models import ModelStatus, ModelVersion
from models_app.services import base_model_choice
from models_app.services.endpoints import endpoint_follow_flywheel
from models_app.services.versions import model_create
from webapp.accounts.services import keys
from webapp.accounts.services.tags import tags_delete_all, tags_set
from webapp.core import arns, background, storage
from webapp.core.errors import (
    ServiceError,
    in_use,
    invalid_request,
    unavailable,
    unsupported_language,
    validation_error,
)
from webapp.core.validation import check_client_token, check_name, check_tags

log = logging.getLogger(__name__)

MAX_LAKE_URI = 512  # FlywheelS3Uri
KEY_MEMBERS = ("ModelKmsKeyId", "VolumeKmsKeyId", "DataLakeKmsKeyId")
MODES = ("MULTI_CLASS", "MULTI_LABEL")


def _transition(pk: int, to: str, **fields) -> bool:
    return background.transition(Flywheel, pk, to=to, **fields)


def check_security(account, config, *, field: str, allowed=KEY_MEMBERS) -> dict:
    """DataSecurityConfig: every key id must name an enabled key of the account; no VpcConfig."""
    if not config:
        return {}
    if not isinstance(config, dict):
        raise validation_error(f"{field} must be an object.", field=field)
    if config.get("VpcConfig"):
        raise invalid_request(
            "VpcConfig does not apply to a self-hosted Textwheel.", field=f"{field}.VpcConfig"
        )
    clean = {}
    for member, value in config.items():
        if member == "VpcConfig" or value in (None, ""):
            continue
        if member not in allowed:
            raise invalid_request(
                f"{field}.{member} cannot be changed after the flywheel is created.",
                field=f"{field}.{member}",
            )
        keys.key_for(account=account, key_ref=value, field=f"{field}.{member}")
        clean[member] = value
    return clean


def _check_types(types) -> list[dict]:
    if not isinstance(types, list) or not types:
        raise validation_error(
            "TaskConfig.EntityRecognitionConfig.EntityTypes must list at least one entity type.",
            field="TaskConfig.EntityRecognitionConfig.EntityTypes",
        )
    names = [t.get("Type") if isinstance(t, dict) else None for t in types]
    try:
        checked = ner_formats.check_entity_types(names)
    except DataError as exc:
        raise invalid_request(
            f"TaskConfig.EntityRecognitionConfig.EntityTypes: {exc.message}.",
            field="TaskConfig.EntityRecognitionConfig.EntityTypes",
        ) from None
    return [{"Type": t} for t in checked]


def check_task_config(model_type, task_config) -> tuple[str, dict]:
    """(the ModelKind, the TaskConfig to record) of a flywheel created for a new model."""
    if model_type not in ModelType.values:
        raise validation_error(
            f"Value '{model_type}' at 'modelType' failed to satisfy constraint: Member must "
            f"satisfy enum value set: [{', '.join(ModelType.values)}]",
            field="ModelType",
        )
    kind = kinds.of_flywheel_model_type(model_type).kind
    spec = kinds.get(kind)
    if not isinstance(task_config, dict):
        raise validation_error("TaskConfig must be an object.", field="TaskConfig")
    language = task_config.get("LanguageCode")
    if language not in spec.languages:
        raise unsupported_language(
            f"Custom {spec.noun}s support the languages {', '.join(spec.languages)}; "
            f"'{language}' is not one of them.",
            field="TaskConfig.LanguageCode",
        )
    classification = task_config.get("DocumentClassificationConfig")
    recognition = task_config.get("EntityRecognitionConfig")
    check = kind_ops.pick(kind, labels=_labels_task, spans=_types_task)
    return kind, check(language, classification, recognition)


def _labels_task(language: str, classification, recognition) -> dict:
    if recognition is not None or not classification:
        raise invalid_request(
            "A DOCUMENT_CLASSIFIER flywheel needs TaskConfig.DocumentClassificationConfig "
            "(and no EntityRecognitionConfig).",
            field="TaskConfig",
        )
    mode = classification.get("Mode")
    if mode not in MODES:
        raise validation_error(
            f"TaskConfig.DocumentClassificationConfig.Mode must be one of {', '.join(MODES)}.",
            field="TaskConfig.DocumentClassificationConfig.Mode",
        )
    labels = classification.get("Labels") or []
    if not isinstance(labels, list) or not all(
        isinstance(label, str) and label.strip() for label in labels
    ):
        raise validation_error(
            "TaskConfig.DocumentClassificationConfig.Labels must be a list of label names.",
            field="TaskConfig.DocumentClassificationConfig.Labels",
        )
    if len(set(labels)) != len(labels):
        raise invalid_request(
            "TaskConfig.DocumentClassificationConfig.Labels names a label more than once.",
            field="TaskConfig.DocumentClassificationConfig.Labels",
        )
    config = {"Mode": mode, **({"Labels": labels} if labels else {})}
    return {"LanguageCode": language, "DocumentClassificationConfig": config}


def _types_task(language: str, classification, recognition) -> dict:
    if classification is not None or not recognition:
        raise invalid_request(
            "An ENTITY_RECOGNIZER flywheel needs TaskConfig.EntityRecognitionConfig "
            "(and no DocumentClassificationConfig).",
            field="TaskConfig",
        )
    types = _check_types(recognition.get("EntityTypes"))
    return {"LanguageCode": language, "EntityRecognitionConfig": {"EntityTypes": types}}


def _starting_version(account, arn: str, principal) -> ModelVersion:
    version = model_selectors.version_for(account, arn, principal=principal, field="ActiveModelArn")
    if version.status not in ModelStatus.USABLE:
        raise unavailable(
            f"The model {arn} is {version.status}; a flywheel starts from a trained version.",
            field="ActiveModelArn",
        )
    if version.is_imported or not _has_training_data(version):
        raise invalid_request(
            f"The model {arn} has no training data of its own (it was imported), so a flywheel "
            "cannot start from it.",
            field="ActiveModelArn",
        )
    return version


def _has_training_data(version: ModelVersion) -> bool:
    config = version.input_data_config or {}
    return bool(
        config.get("S3Uri")
        or config.get("AugmentedManifests")
        or (config.get("Documents") or {}).get("S3Uri")
    )


def flywheel_create(
    *,
    account,
    name,
    data_access_role_arn,
    data_lake_s3_uri,
    active_model_arn=None,
    model_type=None,
    task_config=None,
    data_security_config=None,
    client_request_token=None,
    tags=None,
    principal=None,
) -> Flywheel:
    """CreateFlywheel: record the flywheel CREATING and queue the filling of its data lake."""
    name = check_name(name, field="FlywheelName")
    role = arns.parse_role(data_access_role_arn)
    pairs = check_tags(tags)
    base_model_choice.check_tags(pairs)
    token = check_client_token(client_request_token)
    if token:
        # A retried request (botocore reuses the token) gets the flywheel it already made.
        existing = selectors.flywheels(account).filter(client_request_token=token).first()
        if existing is not None:
            if existing.name != name:
                raise validation_error(
                    "ClientRequestToken was already used for a different request.",
                    field="ClientRequestToken",
                )
            return existing
    lake_given = _check_lake(account, data_lake_s3_uri)
    if active_model_arn and (model_type or task_config):
        raise invalid_request(
            "Give either ActiveModelArn or ModelType and TaskConfig, not both.",
            field="ActiveModelArn",
        )
    if not active_model_arn and not (model_type and task_config):
        raise invalid_request(
            "Give ActiveModelArn (a trained model version) or ModelType and TaskConfig "
            "(a new model).",
            field="ModelType",
        )
    security = check_security(account, data_security_config, field="DataSecurityConfig")
    version = None
    if active_model_arn:
        version = _starting_version(account, active_model_arn, principal)
        kind, config = version.model.kind, task_config_of(version)
    else:
        kind, config = check_task_config(model_type, task_config)
    if selectors.flywheels(account).filter(name=name).exists():
        raise _name_taken(name)
    created = timezone.now()
    lake = datalake.lake_uri(lake_given, name, created)
    if len(lake) > storage.MAX_URI:
        raise validation_error(
            f"Value at 'dataLakeS3Uri' failed to satisfy constraint: with the flywheel's name "
            f"and folders the data lake location is longer than {storage.MAX_URI} characters.",
            field="DataLakeS3Uri",
        )
    with transaction.atomic():
        model = version.model if version else None
        if version is None:
            # The flywheel's new model takes its name; its first iteration trains version 1.
            model = model_create(account=account, kind=kind, name=name, field="FlywheelName")
        job_id = background.new_job_id()
        try:
            with transaction.atomic():
                flywheel = Flywheel.objects.create(
                    account=account,
                    name=name,
                    status=FlywheelStatus.CREATING,
                    kind=kind,
                    model=model,
                    active_version=version,
                    task_config=config,
                    data_access_role_arn=role,
                    data_lake_given_uri=lake_given,
                    data_lake_uri=lake,
                    data_security_config=security,
                    client_request_token=token or "",
                    created_at=created,
                    updated_at=created,
                    rq_job_id=job_id,
                    progress_step="Waiting for a worker",
                )
        except IntegrityError:
            raise _name_taken(name) from None
        if pairs:
            tags_set(account=account, resource_arn=flywheel.arn, tags=pairs)
        background.enqueue(
            "default", "flywheel_app.jobs.flywheel_prepare_job", flywheel.pk, job_id=job_id
        )
    return flywheel


def _check_lake(account, value) -> str:
    uri = storage.check_output_location(account.account_id, value, field="DataLakeS3Uri")
    if len(str(value)) > MAX_LAKE_URI:
        raise validation_error(
            "1 validation error detected: Value at 'dataLakeS3Uri' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_LAKE_URI}",
            field="DataLakeS3Uri",
        )
    return str(uri)


def _name_taken(name: str):
    return in_use(f"A flywheel named '{name}' already exists.", field="FlywheelName")


def flywheel_prepare(*, flywheel_id: int) -> None:
    """Fill a new flywheel's data lake from its starting version, then make it ACTIVE."""
    with background.tracking(Flywheel, flywheel_id):
        flywheel = (
            Flywheel.objects.select_related("account", "active_version__model", "model")
            .filter(pk=flywheel_id, status=FlywheelStatus.CREATING)
            .first()
        )
        if flywheel is None:
            return  # deleted or finished by someone else
        warnings, fields = [], {}
        if flywheel.active_version is not None:
            background.report_progress(Flywheel, flywheel.pk, 0.1, "Copying the training data")
            try:
                warnings, labels = datalake.datalake_seed(
                    flywheel=flywheel, version=flywheel.active_version
                )
            except datalake.SeedFailed as exc:
                _transition(
                    flywheel.pk,
                    FlywheelStatus.FAILED,
                    message=exc.user_message,
                    progress_step="Failed",
                    updated_at=timezone.now(),
                )
                return
            if not flywheel.labels and labels:
                # The version's row did not say: its training data fixes them.
                fields["task_config"] = _with_fixed_labels(flywheel, labels)
        _transition(
            flywheel.pk,
            FlywheelStatus.ACTIVE,
            **fields,
            message=" ".join(warnings),
            progress=1.0,
            progress_step="Active",
            updated_at=timezone.now(),
        )


def _with_fixed_labels(flywheel: Flywheel, labels: list[str]) -> dict:
    config = dict(flywheel.task_config)
    kind_ops.pick(flywheel.kind, labels=_fix_labels, spans=_fix_types)(config, flywheel, labels)
    return config


def _fix_labels(config: dict, flywheel: Flywheel, labels: list[str]) -> None:
    section = dict(config.get("DocumentClassificationConfig") or {"Mode": flywheel.mode})
    section["Labels"] = labels
    config["DocumentClassificationConfig"] = section


def _fix_types(config: dict, flywheel: Flywheel, labels: list[str]) -> None:
    config["EntityRecognitionConfig"] = {"EntityTypes": [{"Type": t} for t in labels]}


def flywheel_fail_dead(pk: int, reason: str) -> None:
    """The reconciler's way out for a flywheel whose creation job died."""
    _transition(pk, FlywheelStatus.FAILED, message=reason, updated_at=timezone.now())


def flywheel_describe(*, account, arn: str) -> Flywheel:
    return selectors.flywheel_for(account, arn)


def _check_new_active(flywheel: Flywheel, version: ModelVersion, arn: str) -> None:
    """The new active version must be trained and do the flywheel's task."""
    if version.status not in ModelStatus.USABLE:
        raise invalid_request(
            f"The model {arn} is {version.status}; only a trained version can be active.",
            field="ActiveModelArn",
        )
    mismatch = None
    if version.model.kind != flywheel.kind:
        mismatch = f"it is {kinds.get(version.model.kind).a_noun}"
    elif version.language_code != flywheel.language_code:
        mismatch = (
            f"its language is {version.language_code}, the flywheel's {flywheel.language_code}"
        )
    elif kinds.get(flywheel.kind).takes_mode and (version.mode or "MULTI_CLASS") != flywheel.mode:
        mismatch = f"its mode is {version.mode}, the flywheel's {flywheel.mode}"
    else:
        fixed, known = set(flywheel.labels), set(version_labels(version))
        if fixed and known and fixed != known:
            what = kinds.get(flywheel.kind).labels_noun
            mismatch = f"its {what} differ from the flywheel's ({', '.join(sorted(fixed))})"
    if mismatch:
        raise invalid_request(
            f"The model {arn} does not fit the flywheel {flywheel.arn}: {mismatch}.",
            field="ActiveModelArn",
        )


def active_version_changed(flywheel: Flywheel) -> None:
    """Called in the transaction that gives a flywheel a new active version, after the change.

    Each endpoint that follows the flywheel moves to the new version through its deploy job
    (UPDATING: the old model answers until the new one is loaded).
    """
    endpoint_follow_flywheel(account=flywheel.account, flywheel_arn=flywheel.arn)


def flywheel_update(
    *,
    account,
    arn: str,
    active_model_arn=None,
    data_access_role_arn=None,
    data_security_config=None,
    principal=None,
) -> Flywheel:
    """UpdateFlywheel: the active version, the role and the keys, applied at once."""
    flywheel = selectors.flywheel_for(account, arn)
    with transaction.atomic():
        flywheel = selectors.flywheels(account).select_for_update(of=("self",)).get(pk=flywheel.pk)
        if flywheel.status != FlywheelStatus.ACTIVE:
            raise invalid_request(
                f"The flywheel {arn} is {flywheel.status}; only an ACTIVE flywheel can be updated."
            )
        changed_version = False
        if active_model_arn:
            version = model_selectors.version_for(
                account, active_model_arn, principal=principal, field="ActiveModelArn"
            )
            _check_new_active(flywheel, version, active_model_arn)
            changed_version = version.pk != flywheel.active_version_id
            flywheel.active_version = version
            flywheel.model = version.model
        if data_access_role_arn:
            flywheel.data_access_role_arn = arns.parse_role(data_access_role_arn)
        if data_security_config:
            update = check_security(
                account,
                data_security_config,
                field="DataSecurityConfig",
                allowed=("ModelKmsKeyId", "VolumeKmsKeyId"),
            )
            flywheel.data_security_config = {**flywheel.data_security_config, **update}
        flywheel.updated_at = timezone.now()
        flywheel.save(
            update_fields=[
                "active_version",
                "model",
                "data_access_role_arn",
                "data_security_config",
                "updated_at",
            ]
        )
        if changed_version:
            active_version_changed(flywheel)
    return flywheel


# The promotion rule's values when it is switched on without them.
DEFAULT_PROMOTION_MARGIN = 0.01
DEFAULT_PROMOTION_MAX_LABEL_DROP = 0.05


def check_promotion_value(value, *, field: str, what: str) -> float:
    """A margin or a bound of the promotion rule: a number from 0 to 1 (F1 is on that scale)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number != number or not 0.0 <= number <= 1.0:
        raise validation_error(
            f"The {what} must be a number from 0 to 1 (F1 scores are on that scale).",
            field=field,
        )
    return number


def flywheel_promotion_set(
    *, account, arn: str, enabled: bool, margin=None, max_label_drop=None
) -> Flywheel:
    """Switch the flywheel's promotion rule on or off and set its margin and per-label bound
    (a console setting: Comprehend's API has no member for it)."""
    flywheel = selectors.flywheel_for(account, arn)
    fields = {"promote_automatically": bool(enabled)}
    if margin is not None and margin != "":
        fields["promotion_margin"] = check_promotion_value(
            margin, field="PromotionMargin", what="margin"
        )
    elif enabled and flywheel.promotion_margin is None:
        fields["promotion_margin"] = DEFAULT_PROMOTION_MARGIN
    if max_label_drop is not None and max_label_drop != "":
        fields["promotion_max_label_drop"] = check_promotion_value(
            max_label_drop, field="PromotionMaxLabelDrop", what="largest drop of a label's F1"
        )
    elif enabled and flywheel.promotion_max_label_drop is None:
        fields["promotion_max_label_drop"] = DEFAULT_PROMOTION_MAX_LABEL_DROP
    changed = (
        selectors.flywheels(account)
        .filter(pk=flywheel.pk)
        .exclude(status=FlywheelStatus.DELETING)
        .update(**fields, updated_at=timezone.now())
    )
    if not changed:
        raise invalid_request(f"The flywheel {arn} is being deleted.")
    flywheel.refresh_from_db()
    return flywheel


def flywheel_delete(*, account, arn: str) -> None:
    """DeleteFlywheel: the flywheel and its datasets go; its data lake and versions stay."""
    flywheel = selectors.flywheel_for(account, arn)
    with transaction.atomic():
        flywheel = selectors.flywheels(account).select_for_update(of=("self",)).get(pk=flywheel.pk)
        if flywheel.status == FlywheelStatus.CREATING:
            raise in_use(f"The flywheel {arn} is being created; delete it when it is ACTIVE.")
        if flywheel.iterations.filter(status__in=IterationStatus.ACTIVE).exists():
            raise in_use(f"The flywheel {arn} has an iteration running; wait for it to end.")
        creating = flywheel.datasets.filter(status=DatasetStatus.CREATING).first()
        if creating is not None:
            raise in_use(
                f"The flywheel {arn} has a dataset being created ({creating.name}); wait for "
                "it to end."
            )
        following = list(
            model_selectors.endpoints(account)
            .filter(flywheel_arn=flywheel.arn)
            .order_by("name")
            .values_list("name", flat=True)
        )
        if following:
            raise in_use(
                f"The flywheel {arn} is used by the endpoint(s) {', '.join(following)}; "
                "delete them or point them at a model first."
            )
        if not _transition(flywheel.pk, FlywheelStatus.DELETING, updated_at=timezone.now()):
            raise in_use(f"The flywheel {arn} changed state; try again.")
        for dataset in flywheel.datasets.all():
            tags_delete_all(account=account, resource_arn=dataset.arn)
        tags_delete_all(account=account, resource_arn=flywheel.arn)
        flywheel.delete()


def active_version_of(account, flywheel_arn: str) -> ModelVersion | None:
    """The version a flywheel of the account serves (endpoints and jobs given FlywheelArn)."""
    try:
        parsed = arns.parse(flywheel_arn, field="FlywheelArn", expected="flywheel")
    except ServiceError:
        return None
    if parsed.dataset or not parsed.names_account(account.account_id):
        return None
    return (
        ModelVersion.objects.filter(
            active_in_flywheels__account=account, active_in_flywheels__name=parsed.name
        )
        .select_related("model", "account")
        .first()
    )
