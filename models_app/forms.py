"""Console forms: the shape of what users type; the services decide what is allowed."""

from django import forms

from models_app.models import ModelKind, ModelStatus
from models_app.services.versions import LANGUAGES
from webapp import arns, storage
from webapp.errors import ServiceError
from webapp.validation import check_name, check_tags

LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
}
MODE_CHOICES = [
    ("MULTI_CLASS", "Multi-class: exactly one label per document"),
    ("MULTI_LABEL", "Multi-label: one or more labels per document"),
]
FORMAT_CHOICES = [
    ("COMPREHEND_CSV", "CSV file (label,text per line)"),
    ("AUGMENTED_MANIFEST", "Augmented manifest (SageMaker Ground Truth JSON lines)"),
]
TEST_CHOICES = [
    ("AUTOSPLIT", "Autosplit: hold out 10% of the training data for testing"),
    ("GIVEN", "Use my own test data"),
]
MIN_TAG_ROWS = 4


def _checked(check, value, **kwargs):
    """Run one of the shared field rules, turning its ServiceError into a form error."""
    try:
        return check(value, **kwargs)
    except ServiceError as exc:
        raise forms.ValidationError(exc.message) from None


class ClassifierFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *ModelStatus.choices], label="Status"
    )
    name = forms.CharField(required=False, max_length=63, label="Name contains")


class ClassifierCreateForm(forms.Form):
    name = forms.CharField(
        label="Model name",
        max_length=63,
        help_text="Letters, digits and hyphens; unique among your classifiers.",
    )
    version_name = forms.CharField(
        label="Version name",
        max_length=63,
        required=False,
        help_text="Optional, unique within the model, e.g. v1.",
    )
    # A plain text field behind a select: the service decides which languages are supported.
    language_code = forms.CharField(
        label="Language",
        initial="en",
        widget=forms.Select(
            choices=[(c, LANGUAGE_NAMES[c]) for c in LANGUAGES[ModelKind.CLASSIFIER]]
        ),
    )
    mode = forms.ChoiceField(
        label="Classifier mode",
        choices=MODE_CHOICES,
        initial="MULTI_CLASS",
        widget=forms.RadioSelect,
    )
    label_delimiter = forms.CharField(
        label="Label delimiter",
        max_length=1,
        initial="|",
        required=False,
        strip=False,
        help_text="Multi-label only: the character between the labels of one document (default |).",
    )
    data_format = forms.ChoiceField(
        label="Data format",
        choices=FORMAT_CHOICES,
        initial="COMPREHEND_CSV",
        widget=forms.RadioSelect,
    )
    attribute_name = forms.CharField(
        label="Attribute name",
        max_length=63,
        required=False,
        help_text="Augmented manifest only: the attribute that holds the labels.",
    )
    training_uri = forms.CharField(
        label="Training data S3 URI",
        max_length=1024,
        required=False,
        help_text="A file or a folder in your store, e.g. s3://data/train.csv.",
    )
    training_file = forms.FileField(
        label="…or upload the training file",
        required=False,
        help_text="Stored in your account under s3://uploads/.",
    )
    test_source = forms.ChoiceField(
        label="Where the test documents come from",
        choices=TEST_CHOICES,
        initial="AUTOSPLIT",
        widget=forms.RadioSelect,
    )
    test_uri = forms.CharField(label="Test data S3 URI", max_length=1024, required=False)
    test_file = forms.FileField(label="…or upload the test file", required=False)
    output_uri = forms.CharField(
        label="Output location",
        max_length=1024,
        initial="s3://output/",
        required=False,
        help_text="Where output.tar.gz (the confusion matrix) is written; leave blank for none.",
    )
    data_access_role_arn = forms.CharField(
        label="Data access role",
        max_length=2048,
        help_text="Recorded with the version, as Comprehend does.",
    )

    def __init__(self, *args, account_id: str, tags=(), fixed_name: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["data_access_role_arn"].initial = arns.default_role(account_id)
        if fixed_name is not None:
            # A new version of an existing model: the name comes from the URL, never the post.
            self.fields["name"].disabled = True
            self.fields["name"].initial = fixed_name
            self.fields["name"].help_text = "New versions keep the model's name."
        rows = max(MIN_TAG_ROWS, len(tags) + 2)
        if self.is_bound:
            posted = [k for k in self.data if k.startswith("tag_key_")]
            rows = max(rows, len(posted))
        self.tag_count = rows
        for i in range(rows):
            key, value = tags[i] if i < len(tags) else ("", "")
            self.fields[f"tag_key_{i}"] = forms.CharField(
                label=f"Tag {i + 1} key",
                required=False,
                max_length=128,
                initial=key,
                widget=forms.TextInput(attrs={"aria-label": f"Tag {i + 1} key"}),
            )
            self.fields[f"tag_value_{i}"] = forms.CharField(
                label=f"Tag {i + 1} value",
                required=False,
                max_length=256,
                strip=False,
                initial=value,
                widget=forms.TextInput(attrs={"aria-label": f"Tag {i + 1} value"}),
            )

    def main_fields(self):
        return [f for f in self if not f.name.startswith("tag_")]

    def tag_rows(self):
        return [(self[f"tag_key_{i}"], self[f"tag_value_{i}"]) for i in range(self.tag_count)]

    def clean_name(self):
        return _checked(check_name, self.cleaned_data["name"], field="Model name")

    def clean_version_name(self):
        value = self.cleaned_data["version_name"]
        return _checked(check_name, value, field="Version name", required=False) or ""

    def clean_training_uri(self):
        return self._uri("training_uri", "Training data")

    def clean_test_uri(self):
        return self._uri("test_uri", "Test data")

    def clean_output_uri(self):
        return self._uri("output_uri", "Output location")

    def clean_data_access_role_arn(self):
        value = self.cleaned_data["data_access_role_arn"].strip()
        return _checked(arns.parse_role, value, field="Data access role")

    def _uri(self, name, label):
        value = self.cleaned_data[name].strip()
        if value:
            _checked(storage.parse_uri, value, field=label)
        return value

    def clean(self):
        data = super().clean()
        self._one_source("training_uri", "training_file", "training data", required=True)
        if data.get("test_source") == "GIVEN":
            self._one_source("test_uri", "test_file", "test data", required=True)
        if data.get("data_format") == "AUGMENTED_MANIFEST" and not data.get("attribute_name"):
            self.add_error("attribute_name", "Name the attribute that holds the labels.")
        pairs = []
        for i in range(self.tag_count):
            key, value = data.get(f"tag_key_{i}", "").strip(), data.get(f"tag_value_{i}", "")
            if key:
                pairs.append({"Key": key, "Value": value})
            elif value:
                self.add_error(f"tag_key_{i}", "A tag with a value needs a key.")
        try:
            data["tags"] = [{"Key": k, "Value": v} for k, v in check_tags(pairs)]
        except ServiceError as exc:
            self.add_error(None, exc.message)
        return data

    def _one_source(self, uri_field, file_field, what, *, required):
        has_uri = bool(self.cleaned_data.get(uri_field))
        has_file = bool(self.cleaned_data.get(file_field))
        if has_uri and has_file:
            self.add_error(uri_field, f"Give an S3 URI or a file for the {what}, not both.")
        elif required and not has_uri and not has_file and uri_field not in self.errors:
            self.add_error(uri_field, f"Give an S3 URI or upload a file for the {what}.")

    def remember_upload(self, uri_field: str, uri: str) -> None:
        """Show a stored upload's URI in the form, so a re-shown form needs no second upload."""
        self.data = self.data.copy()
        self.data[uri_field] = uri


def initial_from_version(version, tags) -> tuple[dict, list[tuple[str, str]]]:
    """Form values that repeat a version's settings (all but its version name)."""
    config = version.input_data_config or {}
    initial = {
        "name": version.model.name,
        "language_code": version.language_code,
        "mode": version.mode or "MULTI_CLASS",
        "label_delimiter": config.get("LabelDelimiter", "|"),
        "data_format": config.get("DataFormat", "COMPREHEND_CSV"),
        "output_uri": (version.output_data_config or {}).get("S3Uri", ""),
        "data_access_role_arn": version.data_access_role_arn,
        "test_source": "AUTOSPLIT",
    }
    if initial["data_format"] == "AUGMENTED_MANIFEST":
        by_split = {m.get("Split", "TRAIN"): m for m in config.get("AugmentedManifests", [])}
        train = by_split.get("TRAIN", {})
        initial["training_uri"] = train.get("S3Uri", "")
        initial["attribute_name"] = (train.get("AttributeNames") or [""])[0]
        if "TEST" in by_split:
            initial.update(test_source="GIVEN", test_uri=by_split["TEST"]["S3Uri"])
    else:
        initial["training_uri"] = config.get("S3Uri", "")
        if config.get("TestS3Uri"):
            initial.update(test_source="GIVEN", test_uri=config["TestS3Uri"])
    return initial, [(t["Key"], t["Value"]) for t in tags]


def input_data_config(data: dict, training_uri: str, test_uri: str | None) -> dict:
    """InputDataConfig in the API's shape from the cleaned form and the resolved URIs."""
    if data["data_format"] == "AUGMENTED_MANIFEST":
        attribute = [data["attribute_name"]]
        manifests = [{"S3Uri": training_uri, "AttributeNames": attribute, "Split": "TRAIN"}]
        if test_uri:
            manifests.append({"S3Uri": test_uri, "AttributeNames": attribute, "Split": "TEST"})
        return {"DataFormat": "AUGMENTED_MANIFEST", "AugmentedManifests": manifests}
    config = {"DataFormat": "COMPREHEND_CSV", "S3Uri": training_uri}
    if test_uri:
        config["TestS3Uri"] = test_uri
    if data["mode"] == "MULTI_LABEL" and data["label_delimiter"]:
        config["LabelDelimiter"] = data["label_delimiter"]
    return config
