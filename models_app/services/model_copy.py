"""Model copy: ImportModel makes a version of the caller's from a trained version, perhaps another
account's whose resource policy allows it, and the worker copies its model files (never its data)."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from models_app import kinds, selectors
from models_app.models import CustomModel, ModelStatus, ModelVersion
from models_app.services.artifacts import artifact_copy, artifact_delete, artifact_location
from models_app.services.version_status import version_transition
from models_app.services.versions import StopPoller
from webapp.accounts.models import AuditEvent, EncryptionKey
from webapp.accounts.services import keys
from webapp.accounts.services.audit import audit_record
from webapp.accounts.services.tags import tags_set
from webapp.core import arns, background, policies
from webapp.core.errors import ServiceError, access_denied, in_use, unavailable
from webapp.core.validation import check_name, check_tags

log = logging.getLogger(__name__)

OPERATION = "ImportModel"
COPYING = "Copying the model"


def _refusal(source_model_arn: str) -> ServiceError:
    # One answer for a version that does not exist and one that may not be imported, so that
    # nobody learns which versions another account has.
    return access_denied(
        f"You cannot import {source_model_arn}: it does not exist, or its resource-based policy "
        "does not allow your account to import it.",
        field="SourceModelArn",
    )


def version_import(
    *,
    account,
    user,
    source_model_arn,
    model_name=None,
    version_name=None,
    model_kms_key_id=None,
    data_access_role_arn=None,
    tags=None,
) -> ModelVersion:
    """ImportModel: record a SUBMITTED copy of a trained version and queue the copying."""
    parsed = arns.parse(source_model_arn, field="SourceModelArn", expected=kinds.arn_types())
    foreign = not parsed.names_account(account.account_id)
    actor = {
        "account": account,
        "actor_account_id": account.account_id,
        "actor_user": getattr(user, "username", "") or "",
        "operation": OPERATION,
        "resource_arn": source_model_arn,
    }
    try:
        source = selectors.version_for(
            account,
            source_model_arn,
            principal=user,
            action=policies.IMPORT_ACTION,
            field="SourceModelArn",
        )
    except ServiceError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        if not foreign:
            audit_record(
                **actor,
                outcome=AuditEvent.Outcome.REFUSED,
                detail="The source model version does not exist.",
            )
            raise
        audit_record(
            **actor,
            outcome=AuditEvent.Outcome.REFUSED,
            detail="Refused: the version does not exist or its policy does not allow this caller.",
            also_account=selectors.owner_of_version(parsed),
        )
        raise _refusal(source_model_arn) from None
    try:
        version = _create_copy(
            account=account,
            source=source,
            model_name=model_name,
            version_name=version_name,
            model_kms_key_id=model_kms_key_id,
            data_access_role_arn=data_access_role_arn,
            tags=tags,
        )
    except ServiceError as exc:
        audit_record(
            **actor,
            outcome=AuditEvent.Outcome.FAILED,
            detail=exc.message,
            also_account=source.account,
        )
        raise
    audit_record(
        **actor,
        outcome=AuditEvent.Outcome.ALLOWED,
        detail=f"Imported as {version.arn}.",
        also_account=source.account,
    )
    return version


def _create_copy(
    *,
    account,
    source: ModelVersion,
    model_name,
    version_name,
    model_kms_key_id,
    data_access_role_arn,
    tags,
) -> ModelVersion:
    spec = kinds.get(source.model.kind)
    if source.status not in ModelStatus.USABLE:
        raise unavailable(
            f"The {spec.noun} {source.arn} is {source.status}; only a trained version can be "
            "imported.",
            field="SourceModelArn",
        )
    model_name = check_name(model_name, field="ModelName", required=False) or source.model.name
    version_name = check_name(version_name, field="VersionName", required=False) or ""
    role = arns.parse_role(data_access_role_arn) if data_access_role_arn else ""
    pairs = check_tags(tags)
    key = (
        keys.key_for(account=account, key_ref=model_kms_key_id, field="ModelKmsKeyId")
        if model_kms_key_id
        else None
    )
    # Only what the model finds is copied, never where its data was: a recognizer's entity
    # types, and its metrics.
    types = (source.input_data_config or {}).get("EntityTypes")
    input_config = {"EntityTypes": types} if types else {}
    with transaction.atomic():
        model, _ = CustomModel.objects.get_or_create(
            account=account, kind=source.model.kind, name=model_name
        )
        job_id = background.new_job_id()
        try:
            with transaction.atomic():
                version = ModelVersion.objects.create(
                    account=account,
                    model=model,
                    version_name=version_name,
                    status=ModelStatus.SUBMITTED,
                    language_code=source.language_code,
                    mode=source.mode,
                    input_data_config=input_config,
                    output_data_config={},
                    data_access_role_arn=role,
                    model_kms_key_id=model_kms_key_id if key is not None else "",
                    model_key=key,
                    source_model_arn=source.arn,
                    source_version=source,
                    metrics=source.metrics,
                    per_label_metrics=source.per_label_metrics,
                    # The scores and charts travel with the model; the source's test
                    # documents (its data) do not.
                    evaluation={
                        k: v for k, v in (source.evaluation or {}).items() if k != "test_documents"
                    }
                    or None,
                    # Which base model the model holds, and why: what it is, not its data.
                    training_parameters=_base_model_record(source),
                    number_of_labels=source.number_of_labels,
                    number_of_trained_documents=source.number_of_trained_documents,
                    number_of_test_documents=source.number_of_test_documents,
                    rq_job_id=job_id,
                    progress_step="Waiting for a worker",
                )
        except IntegrityError:
            what = f"version '{version_name}'" if version_name else "an unnamed version"
            raise in_use(
                f"The {spec.noun} '{model_name}' already has {what}; choose another version name.",
                field="VersionName",
            ) from None
        if pairs:
            tags_set(account=account, resource_arn=version.arn, tags=pairs)
        # The default queue: a copy takes seconds and must not wait behind long trainings.
        background.enqueue(
            "default", "models_app.jobs.version_import_job", version.pk, job_id=job_id
        )
    return version


def _base_model_record(source: ModelVersion) -> dict | None:
    record = (source.training_parameters or {}).get("base_model")
    return {"base_model": record} if record else None


def _fail(version_id: int, message: str) -> None:
    version_transition(version_id, ModelStatus.IN_ERROR, message=message, progress_step="Failed")


def _key_disabled(version: ModelVersion) -> bool:
    return (
        version.model_key_id is not None
        and not EncryptionKey.objects.filter(pk=version.model_key_id, enabled=True).exists()
    )


def _source_key_disabled(source: ModelVersion) -> str:
    # The source's key belongs to its owner: the message says what happened without naming it.
    return (
        f"The KMS key of the source model {source.arn} is disabled; the model can be imported "
        "once its owner enables the key."
    )


def version_copy(*, version_id: int) -> None:
    """Claim a submitted import (SUBMITTED -> TRAINING) and copy its source's model into it."""
    with background.tracking(ModelVersion, version_id):
        if not version_transition(
            version_id,
            ModelStatus.TRAINING,
            training_start_time=timezone.now(),
            progress=0.0,
            progress_step=COPYING,
        ):
            version = ModelVersion.objects.filter(pk=version_id).first()
            if version is not None and version.status == ModelStatus.STOP_REQUESTED:
                version_transition(
                    version_id, ModelStatus.STOPPED, message="The import was stopped."
                )
            return  # someone else has it, or it was stopped before it started
        version = ModelVersion.objects.select_related("model", "account").get(pk=version_id)
        source = (
            ModelVersion.objects.select_related("model", "account")
            .filter(pk=version.source_version_id)
            .first()
        )
        if source is None or source.status not in ModelStatus.USABLE or not source.artifact_uri:
            _fail(
                version_id,
                f"The source model {version.source_model_arn} no longer exists or is no longer "
                "trained; nothing was copied.",
            )
            return
        if _key_disabled(source):
            _fail(version_id, _source_key_disabled(source))
            return
        should_stop = StopPoller(version_id)
        if should_stop():
            version_transition(version_id, ModelStatus.STOPPED, message="The import was stopped.")
            return
        location = artifact_location(version)
        try:
            uri = artifact_copy(source, version)
        except BaseException:
            artifact_delete(location)
            if _key_disabled(source):  # while the copy ran
                _fail(version_id, _source_key_disabled(source))
                return
            raise
        should_stop.checked = 0.0  # ask now, not within the second
        if should_stop():
            artifact_delete(location)
            version_transition(version_id, ModelStatus.STOPPED, message="The import was stopped.")
            return
        if not background.through_db_restart(
            lambda: version_transition(
                version_id,
                ModelStatus.TRAINED,
                message="",
                progress=1.0,
                progress_step="Imported",
                artifact_uri=uri,
                artifact_sha256=source.artifact_sha256,
                data_key_wrapped=version.data_key_wrapped,
            )
        ):
            artifact_delete(location)
