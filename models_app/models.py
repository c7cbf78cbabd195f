"""Custom models (classifiers and recognizers) and their versions."""

from django.db import models

from webapp import arns
from webapp.accounts.models import Account
from webapp.background import TrackedWork


class ModelKind(models.TextChoices):
    CLASSIFIER = "classifier", "Document classifier"
    RECOGNIZER = "recognizer", "Entity recognizer"


ARN_TYPES = {
    ModelKind.CLASSIFIER: "document-classifier",
    ModelKind.RECOGNIZER: "entity-recognizer",
}


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
        return arns.build(ARN_TYPES[self.kind], self.account.account_id, self.name)


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
            ARN_TYPES[self.model.kind],
            self.account.account_id,
            self.model.name,
            version=self.version_name or None,
        )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_usable(self) -> bool:
        return self.status in (ModelStatus.TRAINED, ModelStatus.TRAINED_WITH_WARNING)


FINAL_STATUSES = (
    ModelStatus.TRAINED,
    ModelStatus.TRAINED_WITH_WARNING,
    ModelStatus.IN_ERROR,
    ModelStatus.STOPPED,
)
RUNNING_STATUSES = (ModelStatus.TRAINING, ModelStatus.STOP_REQUESTED)
