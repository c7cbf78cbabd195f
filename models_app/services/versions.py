"""The version machinery shared by classifiers and recognizers: create, stop, delete, train."""

import contextlib
import logging
import time
from dataclasses import dataclass, field

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from models_app import kinds, selectors
from models_app.models import CustomModel, ModelStatus, ModelVersion
from models_app.services.artifacts import artifact_delete, artifact_location
from models_app.services.version_status import version_transition
from webapp.accounts.models import EncryptionKey
from webapp.accounts.services import keys
from webapp.accounts.services.tags import tags_delete_all, tags_set
from webapp.core import arns, background, storage
from webapp.core.errors import (
    ServiceError,
    in_use,
    invalid_request,
    unsupported_language,
    validation_error,
)
from webapp.core.validation import check_client_token, check_name, check_tags

log = logging.getLogger(__name__)

# The console's forms offer the languages each kind takes.
LANGUAGES = {spec.kind: spec.languages for spec in kinds.KINDS.values()}


def check_uri(account, value, field: str, *, must_exist: bool) -> str:
    """An S3 URI of a training request, checked to name objects of the account when it must."""
    uri = storage.parse_uri(value, field=field)
    if must_exist and not storage.exists(account.account_id, uri):
        raise invalid_request(f"No objects found at {value} ({field}).", field=field)
    return str(uri)


@dataclass
class VersionSpec:
    """Everything a user gives to create a version, already checked by the kind's validator."""

    kind: str
    model_name: str
    version_name: str
    language_code: str
    data_access_role_arn: str
    input_data_config: dict
    output_data_config: dict = field(default_factory=dict)
    mode: str = ""
    tags: list = field(default_factory=list)
    client_request_token: str | None = None
    volume_kms_key_id: str = ""
    model_kms_key_id: str = ""
    volume_key: EncryptionKey | None = None
    model_key: EncryptionKey | None = None
    parent: ModelVersion | None = None
    flywheel_arn: str = ""  # the flywheel whose iteration trains it


def check_common(
    *,
    kind: str,
    model_name,
    version_name,
    language_code,
    data_access_role_arn,
    tags,
    client_request_token,
) -> dict:
    """Checks every kind shares: names, language, role, tags and the request token."""
    model_name = check_name(model_name, field=kinds.get(kind).name_field)
    version_name = check_name(version_name, field="VersionName", required=False) or ""
    if language_code not in kinds.get(kind).languages:
        raise unsupported_language(
            f"Custom {kinds.get(kind).noun}s support the languages "
            f"{', '.join(kinds.get(kind).languages)}; '{language_code}' is not one of them.",
            field="LanguageCode",
        )
    return {
        "model_name": model_name,
        "version_name": version_name,
        "language_code": language_code,
        "data_access_role_arn": arns.parse_role(data_access_role_arn),
        "tags": check_tags(tags),
        "client_request_token": check_client_token(client_request_token),
    }


def check_keys(account, *, model_kms_key_id=None, volume_kms_key_id=None) -> dict:
    """ModelKmsKeyId and VolumeKmsKeyId, each naming an enabled key of the account when given;
    the ids are kept as given (Describe answers them so) beside the keys they name."""
    checked = {}
    for name, value, member in (
        ("model", model_kms_key_id, "ModelKmsKeyId"),
        ("volume", volume_kms_key_id, "VolumeKmsKeyId"),
    ):
        key = keys.key_for(account=account, key_ref=value, field=member) if value else None
        checked[f"{name}_kms_key_id"] = value if key is not None else ""
        checked[f"{name}_key"] = key
    return checked


def version_create(*, account, spec: VersionSpec, job_id: str | None = None) -> ModelVersion:
    """Record a new version as SUBMITTED and enqueue its training when the transaction commits.

    With `job_id` nothing is enqueued: the running job of that id (a flywheel iteration) trains
    the version itself with `version_train`, and the reconciler watches that job for it.
    """
    with transaction.atomic():
        if spec.client_request_token:
            # A retried request (botocore reuses the token) gets the version it already made.
            existing = (
                selectors.versions(account, spec.kind)
                .filter(client_request_token=spec.client_request_token, model__name=spec.model_name)
                .first()
            )
            if existing is not None:
                if existing.version_name != spec.version_name:
                    raise validation_error(
                        "ClientRequestToken was already used for a different request.",
                        field="ClientRequestToken",
                    )
                return existing
        model, _ = CustomModel.objects.get_or_create(
            account=account, kind=spec.kind, name=spec.model_name
        )
        if ModelVersion.objects.filter(model=model, version_name=spec.version_name).exists():
            raise _name_taken(spec)
        own_job = job_id is None
        job_id = job_id or background.new_job_id()
        try:
            with transaction.atomic():
                version = ModelVersion.objects.create(
                    account=account,
                    model=model,
                    version_name=spec.version_name,
                    status=ModelStatus.SUBMITTED,
                    language_code=spec.language_code,
                    mode=spec.mode,
                    input_data_config=spec.input_data_config,
                    output_data_config=spec.output_data_config,
                    data_access_role_arn=spec.data_access_role_arn,
                    volume_kms_key_id=spec.volume_kms_key_id,
                    model_kms_key_id=spec.model_kms_key_id,
                    volume_key=spec.volume_key,
                    model_key=spec.model_key,
                    client_request_token=spec.client_request_token or "",
                    parent=spec.parent,
                    flywheel_arn=spec.flywheel_arn,
                    rq_job_id=job_id,
                    progress_step="Waiting for a worker",
                )
        except IntegrityError:
            raise _name_taken(spec) from None
        if spec.tags:
            tags_set(account=account, resource_arn=version.arn, tags=spec.tags)
        if own_job:
            background.enqueue(
                "training", "models_app.jobs.version_train_job", version.pk, job_id=job_id
            )
    return version


def model_create(*, account, kind: str, name: str, field: str) -> CustomModel:
    """A named model with no version yet (a flywheel's, whose first iteration trains one)."""
    taken = in_use(f"The {kinds.get(kind).noun} '{name}' already exists.", field=field)
    if CustomModel.objects.filter(account=account, kind=kind, name=name).exists():
        raise taken
    try:
        with transaction.atomic():
            return CustomModel.objects.create(account=account, kind=kind, name=name)
    except IntegrityError:
        raise taken from None


def _name_taken(spec: VersionSpec) -> ServiceError:
    what = f"version '{spec.version_name}'" if spec.version_name else "an unnamed version"
    return in_use(
        f"The {kinds.get(spec.kind).noun} '{spec.model_name}' already has {what}; "
        "choose another version name.",
        field="VersionName",
    )


def version_stop(*, account, kind: str, arn: str, principal=None) -> ModelVersion:
    """Ask a training version to stop; it ends STOPPED (a queued one stops at once)."""
    version = selectors.version_for(account, arn, kind=kind, principal=principal, action="stop")
    if not version_transition(version.pk, ModelStatus.STOP_REQUESTED, progress_step="Stopping"):
        version.refresh_from_db()
        if version.status == ModelStatus.STOP_REQUESTED:
            return version
        # Comprehend's StopTraining operations answer InvalidRequestException here.
        raise invalid_request(
            f"The {kinds.get(kind).noun} {arn} is {version.status}; only a submitted or "
            "training version can be stopped."
        )
    # A job still waiting in the queue never starts: cancel it and finish the stop now.
    if background.cancel_waiting(version.rq_job_id):
        version_transition(version.pk, ModelStatus.STOPPED, message="Training was stopped.")
    version.refresh_from_db()
    return version


def version_delete(*, account, kind: str, arn: str, in_use_check=None, principal=None) -> None:
    """Delete a finished version, its artifacts and tags (the model goes with its last version)."""
    version = selectors.version_for(account, arn, kind=kind, principal=principal, action="delete")
    if version.status not in ModelStatus.FINAL:
        raise in_use(
            f"The {kinds.get(kind).noun} {arn} is {version.status}; stop its training before "
            "deleting it."
        )
    if in_use_check is not None:
        in_use_check(version)
    with transaction.atomic():
        if not version_transition(version.pk, ModelStatus.DELETING):
            raise in_use(f"The {kinds.get(kind).noun} {arn} changed state; try again.")
        tags_delete_all(account=account, resource_arn=version.arn)
        model = version.model
        location = artifact_location(version)
        try:
            version.delete()
        except ProtectedError:
            # A row the in-use checks do not know still names the version: refuse, not fail.
            raise in_use(
                f"The {kinds.get(kind).noun} {arn} is still in use; it cannot be deleted."
            ) from None
        if not model.versions.exists():
            model.delete()
        transaction.on_commit(lambda: artifact_delete(location))


@contextlib.contextmanager
def storing_model():
    """Fail a model that cannot be stored with a message that names no server path."""
    try:
        yield
    except OSError as exc:  # its text names the artifact folder on this server
        log.exception("storing a trained model failed")
        raise ServiceError(
            "InternalServerException",
            f"The trained model could not be stored ({exc.strerror or 'I/O error'}).",
            500,
        ) from None


class StopPoller:
    """should_stop() for trainers: asks the database at most once a second."""

    def __init__(self, pk: int):
        self.pk = pk
        self.checked = 0.0
        self.stop = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self.stop and now - self.checked >= 1.0:
            self.checked = now
            try:
                self.stop = ModelVersion.objects.filter(
                    pk=self.pk, status=ModelStatus.STOP_REQUESTED
                ).exists()
            except DatabaseError:  # a database restart: training goes on, ask again later
                connection.close()
        return self.stop


def progress_reporter(pk: int, start: float = 0.0, end: float = 1.0):
    """progress(fraction, step) for trainers, mapped into [start, end] of the version's bar."""

    def report(fraction: float, step: str) -> None:
        background.report_progress(ModelVersion, pk, start + (end - start) * fraction, step)

    return report


def version_train(*, version_id: int, trainer) -> None:
    """Claim a submitted version (SUBMITTED -> TRAINING) and run `trainer(version)` on it."""
    with background.tracking(ModelVersion, version_id):
        if not version_transition(
            version_id,
            ModelStatus.TRAINING,
            training_start_time=timezone.now(),
            progress=0.0,
            progress_step="Starting",
        ):
            version = ModelVersion.objects.filter(pk=version_id).first()
            if version is not None and version.status == ModelStatus.STOP_REQUESTED:
                version_transition(version_id, ModelStatus.STOPPED, message="Training was stopped.")
            return  # someone else has it, or it was stopped before it started
        version = ModelVersion.objects.select_related("model", "account").get(pk=version_id)
        trainer(version)


def finish_trained(
    version: ModelVersion, *, warnings: list[str], notes: list[str] = (), **fields
) -> bool:
    """Record results and TRAINED (or TRAINED_WITH_WARNING) in one conditional update; `notes`
    (information, such as the base model chosen) follow the warnings in the message."""
    status = ModelStatus.TRAINED_WITH_WARNING if warnings else ModelStatus.TRAINED
    return background.through_db_restart(
        lambda: version_transition(
            version.pk,
            status,
            message=" ".join([*warnings, *notes]),
            progress=1.0,
            progress_step="Trained",
            **fields,
        )
    )


def kind_of_arn(value: str, field: str) -> str:
    parsed = arns.parse(value, field=field, expected=kinds.arn_types())
    return kinds.of_arn_type(parsed.resource_type).kind
