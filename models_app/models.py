"""Custom models (classifiers and recognizers) and their versions."""

import enum

from django.db import models
from django.utils import timezone

from models_app import kinds
from models_app.kinds import JobKind, ModelKind
from webapp.accounts.models import Account, EncryptionKey
from webapp.core import arns
from webapp.core.background import TrackedWork


class ModelStatus(models.TextChoices):
    """Comprehend's ModelStatus."""

    SUBMITTED = "SUBMITTED"
    TRAINING = "TRAINING"
    DELETING = "DELETING"
    STOP_REQUESTED = "STOP_REQUESTED"
    STOPPED = "STOPPED"
    IN_ERROR = "IN_ERROR"
    TRAINED = "TRAINED"
    TRAINED_WITH_WARNING = "TRAINED_WITH_WARNING"

    # Each status names the ones it may follow; every change is one conditional UPDATE
    # (webapp.core.background.transition).
    ALLOWED_FROM = enum.nonmember(
        {
            TRAINING: (SUBMITTED,),
            # A stop asked for after the trainer's last check loses: as in Comprehend, a
            # training that completes before it can be stopped ends TRAINED.
            TRAINED: (TRAINING, STOP_REQUESTED),
            TRAINED_WITH_WARNING: (TRAINING, STOP_REQUESTED),
            IN_ERROR: (SUBMITTED, TRAINING),
            STOP_REQUESTED: (SUBMITTED, TRAINING),
            STOPPED: (STOP_REQUESTED,),
            DELETING: (TRAINED, TRAINED_WITH_WARNING, IN_ERROR, STOPPED),
        }
    )
    ACTIVE = enum.nonmember((SUBMITTED, TRAINING, STOP_REQUESTED))  # work not yet finished
    RUNNING = enum.nonmember((TRAINING, STOP_REQUESTED))  # a worker holds it
    FINAL = enum.nonmember((TRAINED, TRAINED_WITH_WARNING, IN_ERROR, STOPPED))
    USABLE = enum.nonmember((TRAINED, TRAINED_WITH_WARNING))  # can serve calls and jobs


class CustomModel(models.Model):
    """A named classifier or recognizer; everything that trains is a ModelVersion of it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="custom_models")
    kind = models.CharField(max_length=12, choices=ModelKind.choices)
    name = models.CharField(max_length=63)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "kind", "name"], name="model_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def arn(self) -> str:
        return arns.build(kinds.get(self.kind).arn_type, self.account.account_id, self.name)


def version_label(name: str | None, submit_time) -> str:
    """A version's name, or when it has none, when it was created (see ModelVersion.label)."""
    if name:
        return name
    if submit_time is None:
        return "Unnamed version"
    return f"Unnamed version (created {timezone.localtime(submit_time).strftime('%Y-%m-%d %H:%M')})"


class ModelVersion(TrackedWork):
    """One trained (or training) version: Comprehend's DocumentClassifier / EntityRecognizer."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="model_versions")
    model = models.ForeignKey(CustomModel, on_delete=models.CASCADE, related_name="versions")
    # "" stands for "no version name" so the unique constraint also holds for unnamed versions.
    version_name = models.CharField(max_length=63, blank=True, default="")
    status = models.CharField(
        max_length=24, choices=ModelStatus.choices, default=ModelStatus.SUBMITTED
    )
    message = models.TextField(blank=True)
    language_code = models.CharField(max_length=8, default="en")
    mode = models.CharField(max_length=12, blank=True)  # MULTI_CLASS | MULTI_LABEL (classifiers)
    input_data_config = models.JSONField(default=dict)  # as given (API shape)
    output_data_config = models.JSONField(default=dict)  # as given, plus the resolved S3Uri
    data_access_role_arn = models.CharField(max_length=2048, blank=True)
    volume_kms_key_id = models.CharField(max_length=2048, blank=True)
    model_kms_key_id = models.CharField(max_length=2048, blank=True)
    # How the test set was obtained: AUTOSPLIT (carved from training data) or GIVEN.
    test_source = models.CharField(max_length=12, blank=True)
    metrics = models.JSONField(null=True, blank=True)  # Comprehend EvaluationMetrics, 0..1 scale
    per_label_metrics = models.JSONField(null=True, blank=True)
    evaluation = models.JSONField(null=True, blank=True)  # charts: confusion matrix, curves
    number_of_labels = models.IntegerField(null=True, blank=True)
    number_of_trained_documents = models.IntegerField(null=True, blank=True)
    number_of_test_documents = models.IntegerField(null=True, blank=True)
    training_parameters = models.JSONField(null=True, blank=True)  # chosen model, settings
    artifact_uri = models.CharField(max_length=1024, blank=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    data_sha256 = models.CharField(max_length=64, blank=True)
    output_uri = models.CharField(max_length=1024, blank=True)  # full path of output.tar.gz
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    # Model copy and flywheels record where a version came from; both are filled in by them.
    source_model_arn = models.CharField(max_length=256, blank=True)
    # The version an import copies (None once it is deleted: the copy no longer needs it).
    source_version = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Keys are never deleted, only disabled: a model must always be able to name its key.
    model_key = models.ForeignKey(
        EncryptionKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    volume_key = models.ForeignKey(
        EncryptionKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The artifact's own data key, sealed by model_key (only for versions with a model key).
    data_key_wrapped = models.BinaryField(blank=True, default=b"")
    flywheel_arn = models.CharField(max_length=256, blank=True)
    client_request_token = models.CharField(max_length=64, blank=True)
    submit_time = models.DateTimeField(auto_now_add=True)
    training_start_time = models.DateTimeField(null=True, blank=True)
    training_end_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "version_name"], name="version_unique_name")
        ]
        indexes = [models.Index(fields=["account", "status"])]
        ordering = ["-submit_time", "-id"]

    def __str__(self) -> str:
        return self.arn

    @property
    def kind(self) -> str:
        return self.model.kind

    @property
    def arn(self) -> str:
        return arns.build(
            kinds.get(self.model.kind).arn_type,
            self.account.account_id,
            self.model.name,
            version=self.version_name or None,
        )

    @property
    def label(self) -> str:
        """How pages name the version: its name, or when it has none, when it was created."""
        return version_label(self.version_name, self.submit_time)

    @property
    def is_final(self) -> bool:
        return self.status in ModelStatus.FINAL

    @property
    def is_usable(self) -> bool:
        return self.status in ModelStatus.USABLE

    @property
    def is_imported(self) -> bool:
        return bool(self.source_model_arn)


class ResourcePolicy(models.Model):
    """A version's resource-based policy (model copy): which other accounts may import it."""

    version = models.OneToOneField(
        ModelVersion, on_delete=models.CASCADE, related_name="resource_policy"
    )
    text = models.TextField()  # as given, so Describe answers it byte for byte
    revision_id = models.CharField(max_length=64)  # new random hex on every put
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"policy of {self.version}"


# Inference: real-time endpoints and asynchronous analysis jobs.


class EndpointStatus(models.TextChoices):
    """Comprehend's EndpointStatus."""

    CREATING = "CREATING"
    DELETING = "DELETING"
    FAILED = "FAILED"
    IN_SERVICE = "IN_SERVICE"
    UPDATING = "UPDATING"

    ALLOWED_FROM = enum.nonmember(
        {
            IN_SERVICE: (CREATING, UPDATING),
            UPDATING: (IN_SERVICE, FAILED),
            FAILED: (CREATING, UPDATING),
            DELETING: (CREATING, IN_SERVICE, UPDATING, FAILED),
        }
    )
    ACTIVE = enum.nonmember((CREATING, UPDATING))  # a worker is loading a model for it
    # An update keeps serving the old model until the new one loads.
    SERVING = enum.nonmember((IN_SERVICE, UPDATING))


class Endpoint(TrackedWork):
    """A real-time endpoint serving one model version (or, later, a flywheel's active one)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="endpoints")
    kind = models.CharField(max_length=12, choices=ModelKind.choices)
    name = models.CharField(max_length=40)
    status = models.CharField(
        max_length=12, choices=EndpointStatus.choices, default=EndpointStatus.CREATING
    )
    message = models.TextField(blank=True)
    # What calls are served with, and what an update is loading; a version in use cannot be
    # deleted, so both protect their row.
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="endpoints"
    )
    desired_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    flywheel_arn = models.CharField(max_length=256, blank=True)
    desired_units = models.PositiveIntegerField(default=1)
    current_units = models.PositiveIntegerField(null=True, blank=True)
    data_access_role_arn = models.CharField(max_length=2048, blank=True)
    desired_data_access_role_arn = models.CharField(max_length=2048, blank=True)
    client_request_token = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="endpoint_unique_name")
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.arn

    @property
    def arn(self) -> str:
        return arns.build(
            kinds.get(self.kind).endpoint_arn_type, self.account.account_id, self.name
        )

    @property
    def spec(self) -> kinds.Kind:
        """What the registry says of the kind of model this endpoint serves."""
        return kinds.get(self.kind)


class JobStatus(models.TextChoices):
    """Comprehend's JobStatus."""

    SUBMITTED = "SUBMITTED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    STOP_REQUESTED = "STOP_REQUESTED"
    STOPPED = "STOPPED"

    ALLOWED_FROM = enum.nonmember(
        {
            IN_PROGRESS: (SUBMITTED,),
            COMPLETED: (IN_PROGRESS, STOP_REQUESTED),
            FAILED: (SUBMITTED, IN_PROGRESS, STOP_REQUESTED),
            STOP_REQUESTED: (SUBMITTED, IN_PROGRESS),
            STOPPED: (STOP_REQUESTED,),
        }
    )
    ACTIVE = enum.nonmember((SUBMITTED, IN_PROGRESS, STOP_REQUESTED))  # work not yet finished
    FINAL = enum.nonmember((COMPLETED, FAILED, STOPPED))


class AnalysisJob(TrackedWork):
    """An asynchronous classification or entities detection job over documents in storage.

    Its work is done by AnalysisTask rows (split, chunks, merge), each tracked and retried on
    its own; progress and document counts are kept here, where pages and the API read them.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="analysis_jobs")
    job_id = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=16, choices=JobKind.choices)
    job_name = models.CharField(max_length=256, blank=True)
    version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="analysis_jobs",
    )
    model_arn = models.CharField(max_length=256, blank=True)
    flywheel_arn = models.CharField(max_length=256, blank=True)
    language_code = models.CharField(max_length=8, blank=True)
    input_data_config = models.JSONField(default=dict)
    output_data_config = models.JSONField(default=dict)  # as given
    output_uri = models.CharField(max_length=1024)  # full path of output.tar.gz
    data_access_role_arn = models.CharField(max_length=2048, blank=True)
    volume_kms_key_id = models.CharField(max_length=2048, blank=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.SUBMITTED)
    message = models.TextField(blank=True)
    client_request_token = models.CharField(max_length=64, blank=True)
    documents_total = models.IntegerField(null=True, blank=True)
    documents_done = models.IntegerField(default=0)
    documents_failed = models.IntegerField(default=0)
    submit_time = models.DateTimeField(auto_now_add=True)
    end_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "kind", "status"])]
        ordering = ["-submit_time", "-id"]

    def __str__(self) -> str:
        return self.arn

    @property
    def arn(self) -> str:
        return arns.build(
            kinds.of_job(self.kind).job_arn_type, self.account.account_id, self.job_id
        )

    @property
    def is_active(self) -> bool:
        return self.status in JobStatus.ACTIVE

    @property
    def fraction(self) -> float:
        """How much of the input has been analysed, 0 to 1."""
        if self.status == JobStatus.COMPLETED:
            return 1.0
        if not self.documents_total:
            return 0.0
        return min(1.0, (self.documents_done + self.documents_failed) / self.documents_total)


class TaskRole(models.TextChoices):
    SPLIT = "SPLIT"  # lists the input and plans the chunks
    CHUNK = "CHUNK"  # analyses one slice of the documents
    MERGE = "MERGE"  # writes output.tar.gz from the chunk results, in input order


class TaskStatus(models.TextChoices):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class AnalysisTask(TrackedWork):
    """One retryable piece of an analysis job; any worker on any machine can claim it."""

    job = models.ForeignKey(AnalysisJob, on_delete=models.CASCADE, related_name="tasks")
    role = models.CharField(max_length=8, choices=TaskRole.choices)
    index = models.IntegerField(default=0)
    spec = models.JSONField(default=dict)  # for chunks: the file segments to read
    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    attempts = models.IntegerField(default=0)
    message = models.TextField(blank=True)
    documents = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "role", "index"], name="task_unique_index")
        ]
        indexes = [models.Index(fields=["job", "status"])]
        ordering = ["job", "role", "index"]

    def __str__(self) -> str:
        return f"{self.role} {self.index} of job {self.job_id}"
