"""Flywheels, their datasets and iterations (built with model copy; see models_app for versions)."""

import enum
from datetime import UTC

from django.db import models
from django.utils import timezone

from flywheel_app import kind_ops
from models_app import kinds
from models_app.kinds import ModelKind
from models_app.models import CustomModel, ModelVersion
from webapp.accounts.models import Account
from webapp.core import arns
from webapp.core.background import TrackedWork

# Iteration ids and the data lake's folder of a flywheel are UTC times spelled as Comprehend does.
TIME_ID_FORMAT = "%Y%m%dT%H%M%SZ"


def time_id(moment) -> str:
    """A UTC moment as Comprehend spells iteration ids (20240101T120000Z)."""
    return moment.astimezone(UTC).strftime(TIME_ID_FORMAT)


class FlywheelStatus(models.TextChoices):
    """Comprehend's FlywheelStatus (UPDATING is never used: updates apply at once)."""

    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    UPDATING = "UPDATING"
    DELETING = "DELETING"
    FAILED = "FAILED"

    ALLOWED_FROM = enum.nonmember(
        {
            ACTIVE: (CREATING,),
            FAILED: (CREATING,),
            DELETING: (ACTIVE, FAILED),
        }
    )


class ModelType(models.TextChoices):
    """Comprehend's ModelType, as the API spells it; rows store models_app's ModelKind (the
    kinds registry says which ModelType each kind is: `flywheel_model_type`)."""

    DOCUMENT_CLASSIFIER = "DOCUMENT_CLASSIFIER"
    ENTITY_RECOGNIZER = "ENTITY_RECOGNIZER"


class Flywheel(TrackedWork):
    """A flywheel: a model that keeps training as labelled data arrives, and its data lake."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="flywheels")
    name = models.CharField(max_length=63)
    status = models.CharField(
        max_length=12, choices=FlywheelStatus.choices, default=FlywheelStatus.CREATING
    )
    kind = models.CharField(max_length=12, choices=ModelKind.choices)
    # The model iterations train new versions of: the active version's, or the one a TaskConfig
    # flywheel created (with no version yet). Models go with their last version, so SET_NULL.
    model = models.ForeignKey(
        CustomModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="flywheels"
    )
    # What endpoints and jobs given the flywheel use; a version in use cannot be deleted.
    active_version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="active_in_flywheels",
    )
    # TaskConfig in the API's shape: LanguageCode and DocumentClassificationConfig {Mode, Labels}
    # or EntityRecognitionConfig {EntityTypes: [{Type}]}. Labels and types are fixed at creation.
    task_config = models.JSONField(default=dict)
    data_access_role_arn = models.CharField(max_length=2048)
    data_lake_given_uri = models.CharField(max_length=512)  # DataLakeS3Uri as given
    # <given>/<name>/schemaVersion=1/<created YYYYMMDDTHHMMSSZ>/: what Describe answers.
    data_lake_uri = models.CharField(max_length=1024)
    data_security_config = models.JSONField(default=dict)  # as given (API shape), keys checked
    message = models.TextField(blank=True)
    client_request_token = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The promotion rule (not Comprehend's: set in the console). When it is on, a completed
    # iteration's version becomes active if its AverageF1Score beats the evaluated version's by
    # at least the margin and no label's (entity type's) F1 drops by more than the bound.
    # Off by default: Comprehend leaves promotion to UpdateFlywheel.
    promote_automatically = models.BooleanField(null=True, blank=True)
    promotion_margin = models.FloatField(null=True, blank=True)
    promotion_max_label_drop = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="flywheel_unique_name")
        ]
        indexes = [models.Index(fields=["account", "status"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.arn

    @property
    def arn(self) -> str:
        return arns.build("flywheel", self.account.account_id, self.name)

    @property
    def model_type(self) -> str:
        return kinds.get(self.kind).flywheel_model_type

    @property
    def language_code(self) -> str:
        return self.task_config.get("LanguageCode", "")

    @property
    def mode(self) -> str:
        return (self.task_config.get("DocumentClassificationConfig") or {}).get("Mode", "")

    @property
    def labels(self) -> list[str]:
        """The labels (classifiers) or entity types (recognizers) fixed at creation."""
        return kind_ops.pick(self.kind, labels=_fixed_labels, spans=_fixed_types)(self.task_config)

    @property
    def promotes(self) -> bool:
        return bool(self.promote_automatically)


def _fixed_labels(task_config: dict) -> list[str]:
    return list((task_config.get("DocumentClassificationConfig") or {}).get("Labels") or [])


def _fixed_types(task_config: dict) -> list[str]:
    types = (task_config.get("EntityRecognitionConfig") or {}).get("EntityTypes") or []
    return [t["Type"] for t in types]


class DatasetType(models.TextChoices):
    TRAIN = "TRAIN"
    TEST = "TEST"


class DatasetStatus(models.TextChoices):
    """Comprehend's DatasetStatus."""

    CREATING = "CREATING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    ALLOWED_FROM = enum.nonmember({COMPLETED: (CREATING,), FAILED: (CREATING,)})


class Dataset(TrackedWork):
    """Labelled data brought into a flywheel's data lake (ingested by a job on `default`)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    flywheel = models.ForeignKey(Flywheel, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=63)
    dataset_type = models.CharField(
        max_length=8, choices=DatasetType.choices, default=DatasetType.TRAIN
    )
    description = models.CharField(max_length=2048, blank=True)
    input_data_config = models.JSONField(default=dict)  # as given (API shape), checked
    status = models.CharField(
        max_length=12, choices=DatasetStatus.choices, default=DatasetStatus.CREATING
    )
    dataset_s3_uri = models.CharField(max_length=1024, blank=True)  # datasets/<name>/<time>/
    number_of_documents = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    client_request_token = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    end_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flywheel", "name"], name="dataset_unique_name")
        ]
        indexes = [models.Index(fields=["flywheel", "status"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.arn

    @property
    def arn(self) -> str:
        return arns.build(
            "flywheel", self.account.account_id, self.flywheel.name, dataset=self.name
        )


class IterationStatus(models.TextChoices):
    """Comprehend's FlywheelIterationStatus."""

    TRAINING = "TRAINING"
    EVALUATING = "EVALUATING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    STOP_REQUESTED = "STOP_REQUESTED"
    STOPPED = "STOPPED"

    ALLOWED_FROM = enum.nonmember(
        {
            # A stop asked for after training finished loses, as for model versions.
            EVALUATING: (TRAINING, STOP_REQUESTED),
            COMPLETED: (EVALUATING,),
            FAILED: (TRAINING, EVALUATING, STOP_REQUESTED),
            STOP_REQUESTED: (TRAINING,),
            STOPPED: (STOP_REQUESTED,),
        }
    )
    ACTIVE = enum.nonmember((TRAINING, EVALUATING, STOP_REQUESTED))  # work not yet finished
    FINAL = enum.nonmember((COMPLETED, FAILED, STOPPED))


class FlywheelIteration(TrackedWork):
    """One run of a flywheel: train a new version on its data, score it against the active one."""

    flywheel = models.ForeignKey(Flywheel, on_delete=models.CASCADE, related_name="iterations")
    iteration_id = models.CharField(max_length=16)  # UTC YYYYMMDDTHHMMSSZ
    status = models.CharField(
        max_length=16, choices=IterationStatus.choices, default=IterationStatus.TRAINING
    )
    # Versions an iteration names stay while it is on record.
    evaluated_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trained_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # FlywheelModelEvaluationMetrics: AverageF1Score, AveragePrecision, AverageRecall and
    # (classifiers) AverageAccuracy, all 0..1.
    evaluated_metrics = models.JSONField(null=True, blank=True)
    trained_metrics = models.JSONField(null=True, blank=True)
    evaluation_manifest_s3_prefix = models.CharField(max_length=1024, blank=True)
    message = models.TextField(blank=True)
    client_request_token = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    end_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flywheel", "iteration_id"], name="iteration_unique_id")
        ]
        indexes = [models.Index(fields=["flywheel", "status"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.flywheel.arn} iteration {self.iteration_id}"

    @property
    def is_active(self) -> bool:
        return self.status in IterationStatus.ACTIVE
