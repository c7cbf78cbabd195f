"""Console forms for flywheels: the shape of what people type; the services decide what is allowed."""

from django import forms

from flywheel_app import kind_ops
from flywheel_app.models import ModelType
from flywheel_app.services.flywheels import (
    DEFAULT_PROMOTION_MARGIN,
    DEFAULT_PROMOTION_MAX_LABEL_DROP,
    check_promotion_value,
)
from models_app import kinds
from models_app.form_common import PlainWords, TagRowsMixin, role_field, version_choices
from models_app.form_common import checked as _checked
from models_app.forms.versions import LANGUAGE_NAMES, MODE_CHOICES
from webapp.core import arns, storage
from webapp.core.validation import check_name

SOURCE_CHOICES = [
    ("VERSION", "Start from one of my trained model versions"),
    ("NEW", "Start a new model: its first iteration trains version 1"),
]
MODEL_TYPE_CHOICES = [(spec.flywheel_model_type, spec.title) for spec in kinds.KINDS.values()]
KEY_FIELDS = (
    ("model_kms_key_id", "ModelKmsKeyId", "Model encryption key"),
    ("volume_kms_key_id", "VolumeKmsKeyId", "Training volume encryption key"),
    ("data_lake_kms_key_id", "DataLakeKmsKeyId", "Data lake encryption key"),
)
NO_KEY = ("", "None")


def _labels_config(data: dict) -> dict:
    config = {"Mode": data["mode"] or "MULTI_CLASS"}
    labels = split_names(data["labels"])
    if labels:
        config["Labels"] = labels
    return {"LanguageCode": data["language_code"], "DocumentClassificationConfig": config}


def _types_config(data: dict) -> dict:
    types = [{"Type": t} for t in split_names(data["entity_types"])]
    return {
        "LanguageCode": data["language_code"],
        "EntityRecognitionConfig": {"EntityTypes": types},
    }


def key_choices(keys) -> list[tuple[str, str]]:
    """The account's enabled keys as <select> choices, valued by key id."""
    choices = [NO_KEY]
    for key in keys:
        label = f"{key.description} ({key.key_id})" if key.description else key.key_id
        choices.append((key.key_id, label))
    return choices


def split_names(value: str) -> list[str]:
    """Names typed one per line or separated by commas, blanks dropped, in the order typed."""
    return [line.strip() for line in (value or "").replace(",", "\n").splitlines() if line.strip()]


def check_once(names: list[str], what: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise forms.ValidationError(f"{name} is listed twice; give each {what} once.")
        seen.add(name)


PROMOTION_API_FIELDS = {
    "PromotionMargin": "promotion_margin",
    "PromotionMaxLabelDrop": "promotion_max_label_drop",
}


class PromotionFields(PlainWords, forms.Form):
    """The promotion rule (not Comprehend's): make an iteration's version active by itself."""

    promote_automatically = forms.BooleanField(
        label="Promote automatically",
        required=False,
        help_text="When an iteration completes, its new version becomes the active one if it "
        "beats the active version by the margin below and no label's F1 score falls by more "
        "than the bound. The iteration says why it was promoted or not.",
    )
    promotion_margin = forms.CharField(
        label="Margin",
        required=False,
        initial=DEFAULT_PROMOTION_MARGIN,
        help_text="How much higher the new version's F1 score must be, from 0 to 1 "
        "(0.01 is one point).",
    )
    promotion_max_label_drop = forms.CharField(
        label="Largest drop of one label's F1 score",
        required=False,
        initial=DEFAULT_PROMOTION_MAX_LABEL_DROP,
        help_text="From 0 to 1; for an entity recognizer, of one entity type's.",
    )

    def _promotion_value(self, field: str, what: str):
        value = (self.cleaned_data.get(field) or "").strip()
        if not value:
            return None
        return _checked(check_promotion_value, value, field=field, what=what)

    def clean_promotion_margin(self):
        return self._promotion_value("promotion_margin", "margin")

    def clean_promotion_max_label_drop(self):
        return self._promotion_value("promotion_max_label_drop", "largest drop")

    def promotion_arguments(self) -> dict:
        """flywheel_promotion_set's arguments (the account and ARN come from the view)."""
        data = self.cleaned_data
        return {
            "enabled": bool(data.get("promote_automatically")),
            "margin": data.get("promotion_margin"),
            "max_label_drop": data.get("promotion_max_label_drop"),
        }


class FlywheelCreateForm(TagRowsMixin, PromotionFields):
    """Create a flywheel from a trained version, or for a new model described by its task."""

    MIN_TAG_ROWS = 3
    SPARE_TAG_ROWS = 1
    # The request member a service error names -> the form field that holds it.
    API_FIELDS = {
        "FlywheelName": "name",
        "ActiveModelArn": "active_model_arn",
        "ModelType": "model_type",
        "TaskConfig": "model_type",
        "TaskConfig.LanguageCode": "language_code",
        "TaskConfig.DocumentClassificationConfig.Mode": "mode",
        "TaskConfig.DocumentClassificationConfig.Labels": "labels",
        "TaskConfig.EntityRecognitionConfig.EntityTypes": "entity_types",
        "DataLakeS3Uri": "data_lake_s3_uri",
        "DataAccessRoleArn": "data_access_role_arn",
        "DataSecurityConfig.ModelKmsKeyId": "model_kms_key_id",
        "DataSecurityConfig.VolumeKmsKeyId": "volume_kms_key_id",
        "DataSecurityConfig.DataLakeKmsKeyId": "data_lake_kms_key_id",
        **PROMOTION_API_FIELDS,
    }

    name = forms.CharField(
        label="Flywheel name",
        max_length=63,
        help_text="Letters, digits and hyphens; unique among your flywheels. A new model takes "
        "this name too.",
    )
    source = forms.ChoiceField(
        label="Model", choices=SOURCE_CHOICES, initial="VERSION", widget=forms.RadioSelect
    )
    active_model_arn = forms.ChoiceField(
        label="Active model version",
        required=False,
        help_text="A trained version with its own training data (not an imported copy). Its "
        "training and test data are copied into the data lake.",
    )
    model_type = forms.ChoiceField(
        label="Model type",
        choices=MODEL_TYPE_CHOICES,
        initial=ModelType.DOCUMENT_CLASSIFIER,
        required=False,
        widget=forms.RadioSelect,
    )
    language_code = forms.ChoiceField(label="Language", initial="en", required=False)
    mode = forms.ChoiceField(
        label="Classifier mode",
        choices=MODE_CHOICES,
        initial="MULTI_CLASS",
        required=False,
        widget=forms.RadioSelect,
    )
    labels = forms.CharField(
        label="Labels",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Optional: one per line. Without them, the first dataset's labels are kept.",
    )
    entity_types = forms.CharField(
        label="Entity types",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line, upper-case words joined by underscores, e.g. PRODUCT_CODE.",
    )
    data_lake_s3_uri = forms.CharField(
        label="Data lake location",
        max_length=512,
        initial="s3://flywheels/",
        help_text="A folder in your store; the flywheel's data lake is made below it, in a "
        "folder named after the flywheel.",
    )
    data_access_role_arn = forms.CharField(
        label="Data access role",
        max_length=2048,
        help_text="Recorded with the flywheel and the versions it trains, as Comprehend does.",
    )
    model_kms_key_id = forms.ChoiceField(
        label="Model encryption key",
        required=False,
        help_text="The versions the flywheel trains are stored encrypted with this key.",
    )
    volume_kms_key_id = forms.ChoiceField(label="Training volume encryption key", required=False)
    data_lake_kms_key_id = forms.ChoiceField(
        label="Data lake encryption key",
        required=False,
        help_text="Recorded as Comprehend does; it cannot be changed later.",
    )

    def __init__(self, *args, account_id: str, versions=(), keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["active_model_arn"].choices = [
            ("", "Choose a model version"),
            *version_choices(versions),
        ]
        languages = sorted({c for spec in kinds.KINDS.values() for c in spec.languages})
        self.fields["language_code"].choices = [(c, LANGUAGE_NAMES.get(c, c)) for c in languages]
        for field, _member, _label in KEY_FIELDS:
            self.fields[field].choices = key_choices(keys)
        self.fields["data_access_role_arn"].initial = arns.default_role(account_id)
        self.account_id = account_id
        self.add_tag_fields()

    def clean_name(self):
        return _checked(check_name, self.cleaned_data["name"], field="Flywheel name")

    def clean_data_access_role_arn(self):
        value = self.cleaned_data["data_access_role_arn"].strip()
        return _checked(arns.parse_role, value, field="Data access role")

    def clean_labels(self):
        check_once(split_names(self.cleaned_data["labels"]), "label")
        return self.cleaned_data["labels"]

    def clean_entity_types(self):
        check_once(split_names(self.cleaned_data["entity_types"]), "entity type")
        return self.cleaned_data["entity_types"]

    def clean_data_lake_s3_uri(self):
        value = self.cleaned_data["data_lake_s3_uri"].strip()
        _checked(storage.parse_uri, value, field="Data lake location")
        return value

    def clean(self):
        data = super().clean()
        if data.get("source") == "VERSION":
            if not data.get("active_model_arn"):
                self.add_error("active_model_arn", "Choose the version the flywheel starts from.")
        elif data.get("source") == "NEW":
            if not data.get("model_type"):
                self.add_error("model_type", "Choose what the new model does.")
            elif kind_ops.pick(self.kind, labels=False, spans=True) and not split_names(
                data.get("entity_types", "")
            ):
                # A recognizer is told its entity types; a classifier learns its labels.
                self.add_error("entity_types", "Add at least one entity type.")
        data["tags"] = self.clean_tag_rows(data)
        return data

    @property
    def kind(self) -> str | None:
        model_type = (self.cleaned_data or {}).get("model_type")
        return kinds.of_flywheel_model_type(model_type).kind if model_type else None

    def task_config(self) -> dict:
        return kind_ops.pick(self.kind, labels=_labels_config, spans=_types_config)(
            self.cleaned_data
        )

    def service_arguments(self) -> dict:
        """flywheel_create's arguments (the account and principal come from the view)."""
        data = self.cleaned_data
        security = {member: data[field] for field, member, _ in KEY_FIELDS if data.get(field)}
        arguments = {
            "name": data["name"],
            "data_access_role_arn": data["data_access_role_arn"],
            "data_lake_s3_uri": data["data_lake_s3_uri"],
            "data_security_config": security or None,
            "tags": data["tags"] or None,
        }
        if data["source"] == "VERSION":
            arguments["active_model_arn"] = data["active_model_arn"]
        else:
            arguments["model_type"] = data["model_type"]
            arguments["task_config"] = self.task_config()
        return arguments


class FlywheelUpdateForm(PromotionFields):
    """Update a flywheel: its active version, its role, the keys of the versions it trains and
    its promotion rule."""

    API_FIELDS = {
        "ActiveModelArn": "active_model_arn",
        "DataAccessRoleArn": "data_access_role_arn",
        "DataSecurityConfig.ModelKmsKeyId": "model_kms_key_id",
        "DataSecurityConfig.VolumeKmsKeyId": "volume_kms_key_id",
        **PROMOTION_API_FIELDS,
    }

    active_model_arn = forms.ChoiceField(
        label="Active model version",
        required=False,
        help_text="Endpoints that follow the flywheel move to it; the old version answers "
        "until the new one is loaded.",
    )
    data_access_role_arn = forms.CharField(label="Data access role", max_length=2048)
    model_kms_key_id = forms.ChoiceField(label="Model encryption key", required=False)
    volume_kms_key_id = forms.ChoiceField(label="Training volume encryption key", required=False)

    def __init__(self, *args, versions=(), keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["active_model_arn"].choices = [
            ("", "No active version yet"),
            *version_choices(versions),
        ]
        self.fields["model_kms_key_id"].choices = key_choices(keys)
        self.fields["volume_kms_key_id"].choices = key_choices(keys)

    def clean_data_access_role_arn(self):
        return role_field(self.cleaned_data["data_access_role_arn"], "Data access role")

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        security = {member: data[field] for field, member, _ in KEY_FIELDS[:2] if data.get(field)}
        return {
            "active_model_arn": data["active_model_arn"] or None,
            "data_access_role_arn": data["data_access_role_arn"] or None,
            "data_security_config": security or None,
        }
