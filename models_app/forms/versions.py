"""Console forms: the shape of what users type; the services decide what is allowed."""

import functools

from django import forms

from models_app.form_common import EntitySourceFields, SourcesMixin, TagRowsMixin
from models_app.form_common import checked as _checked
from models_app.forms.model_copy import PolicyField
from models_app.models import ModelKind, ModelStatus
from models_app.services.versions import LANGUAGES
from webapp.core import arns, storage
from webapp.core.validation import check_name

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
RECOGNIZER_FORMAT_CHOICES = [
    ("COMPREHEND_CSV", "CSV: documents plus an annotations file or an entity list"),
    ("AUGMENTED_MANIFEST", "Augmented manifest (SageMaker Ground Truth JSON lines)"),
]
TRAINING_TYPE_CHOICES = [
    ("ANNOTATIONS", "Annotations and training documents"),
    ("ENTITY_LIST", "Entity list and training documents"),
]
INPUT_FORMAT_CHOICES = [
    ("ONE_DOC_PER_LINE", "One document per line"),
    ("ONE_DOC_PER_FILE", "One document per file"),
]
TEST_CHOICES = [
    ("AUTOSPLIT", "Autosplit: hold out 10% of the training data for testing"),
    ("GIVEN", "Use my own test data"),
]
MIN_ENTITY_TYPE_ROWS = 5
MAX_ENTITY_TYPE_ROWS = 25  # Comprehend's limit; the service says so when more are sent
MAX_TRY_BYTES = 10_000  # DetectEntities' limit for one document (UTF-8 bytes)


class ModelFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *ModelStatus.choices], label="Status"
    )
    name = forms.CharField(required=False, max_length=63, label="Name contains")


class ModelCreateForm(SourcesMixin, TagRowsMixin, forms.Form):
    """What every kind of model asks for: names, language, test source, role and tags.

    Subclasses add their data fields and say which data sources the chosen options need
    (`needed`), how the service is called (`service_arguments`) and which of their fields each
    request member is (`API_FIELDS`, for the service errors that name one).
    """

    MIN_TAG_ROWS = 4
    SPARE_TAG_ROWS = 2

    kind = ""
    name_label = "Model name"
    # uri field -> (file field, what it is): a source is given as an S3 URI or as an upload.
    # The request member a service error names -> the form field that holds it.
    API_FIELDS: dict[str, str] = {
        "VersionName": "version_name",
        "LanguageCode": "language_code",
        "DataAccessRoleArn": "data_access_role_arn",
        "ModelPolicy": "model_policy",
    }

    name = forms.CharField(label="Model name", max_length=63)
    version_name = forms.CharField(
        label="Version name",
        max_length=63,
        required=False,
        help_text="Optional, unique within the model, e.g. v1.",
    )
    # A plain text field behind a select: the service decides which languages are supported.
    language_code = forms.CharField(label="Language", initial="en")
    test_source = forms.ChoiceField(
        label="Where the test documents come from",
        choices=TEST_CHOICES,
        initial="AUTOSPLIT",
        widget=forms.RadioSelect,
    )
    data_access_role_arn = forms.CharField(
        label="Data access role",
        max_length=2048,
        help_text="Recorded with the version, as Comprehend does.",
    )
    model_policy = PolicyField(
        label="Resource-based policy",
        required=False,
        help_text="Optional JSON that lets other accounts import this version "
        '(comprehend:ImportModel; "Resource": "*" means this version). You can also share it '
        "later from the version's page, where a builder writes the policy for you.",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "code"}),
    )

    def __init__(self, *args, account_id: str, tags=(), fixed_name: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.account_id = account_id
        name = self.fields["name"]
        name.label = self.name_label
        name.help_text = f"Letters, digits and hyphens; unique among your {self.kind}s."
        self.fields["language_code"].widget = forms.Select(
            choices=[(c, LANGUAGE_NAMES[c]) for c in LANGUAGES[self.kind]]
        )
        self.fields["data_access_role_arn"].initial = arns.default_role(account_id)
        if fixed_name is not None:
            # A new version of an existing model: the name comes from the URL, never the post.
            self.fields["name"].disabled = True
            self.fields["name"].initial = fixed_name
            self.fields["name"].help_text = "New versions keep the model's name."
        self.add_tag_fields(tags)

    def clean_name(self):
        return _checked(check_name, self.cleaned_data["name"], field=self.name_label)

    def clean_version_name(self):
        value = self.cleaned_data["version_name"]
        return _checked(check_name, value, field="Version name", required=False) or ""

    def clean_data_access_role_arn(self):
        value = self.cleaned_data["data_access_role_arn"].strip()
        return _checked(arns.parse_role, value, field="Data access role")

    def clean(self):
        data = super().clean()
        for uri_field in self.needed(data):
            self._one_source(uri_field)
        data["tags"] = self.clean_tag_rows(data)
        return data

    def common_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "version_name": data["version_name"],
            "language_code": data["language_code"],
            "data_access_role_arn": data["data_access_role_arn"],
            "tags": data["tags"],
            "model_policy": data["model_policy"],
        }

    @staticmethod
    def common_initial(version) -> dict:
        return {
            "name": version.model.name,
            "language_code": version.language_code,
            "data_access_role_arn": version.data_access_role_arn,
            "test_source": "AUTOSPLIT",
        }


class ClassifierCreateForm(ModelCreateForm):
    kind = ModelKind.CLASSIFIER
    name_label = "Model name"
    SOURCES = {
        "training_uri": ("training_file", "Training data"),
        "test_uri": ("test_file", "Test data"),
    }
    API_FIELDS = {
        **ModelCreateForm.API_FIELDS,
        "DocumentClassifierName": "name",
        "Mode": "mode",
        "InputDataConfig": "training_uri",
        "InputDataConfig.DataFormat": "data_format",
        "InputDataConfig.LabelDelimiter": "label_delimiter",
        "InputDataConfig.S3Uri": "training_uri",
        "InputDataConfig.TestS3Uri": "test_uri",
        # The form sends the training manifest first and the test manifest second.
        "InputDataConfig.AugmentedManifests": "training_uri",
        "InputDataConfig.AugmentedManifests.1.S3Uri": "training_uri",
        "InputDataConfig.AugmentedManifests.1.AttributeNames": "attribute_name",
        "InputDataConfig.AugmentedManifests.2.S3Uri": "test_uri",
        "InputDataConfig.AugmentedManifests.2.AttributeNames": "attribute_name",
        "OutputDataConfig.S3Uri": "output_uri",
    }

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
        max_length=255,
        required=False,
        help_text="Augmented manifest only: the attribute that holds the labels (for a chained "
        "labelling job, one per job, separated by commas).",
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
    test_uri = forms.CharField(label="Test data S3 URI", max_length=1024, required=False)
    test_file = forms.FileField(label="…or upload the test file", required=False)
    output_uri = forms.CharField(
        label="Output location",
        max_length=1024,
        initial="s3://output/",
        required=False,
        help_text="Where output.tar.gz (the confusion matrix) is written; leave blank for none.",
    )

    def clean_output_uri(self):
        value = self.cleaned_data["output_uri"].strip()
        if value:
            # A folder: output is written below it, which an existing object would prevent.
            check = functools.partial(storage.check_output_location, self.account_id)
            _checked(check, value, field="Output location")
        return value

    def needed(self, data) -> list[str]:
        return ["training_uri", *(["test_uri"] if data.get("test_source") == "GIVEN" else [])]

    def clean(self):
        data = super().clean()
        if data.get("data_format") == "AUGMENTED_MANIFEST" and not data.get("attribute_name"):
            self.add_error("attribute_name", "Name the attribute that holds the labels.")
        return data

    def service_arguments(self, uris: dict) -> dict:
        """classifier_create's arguments, given where each needed source is stored."""
        data = self.cleaned_data
        return {
            **self.common_arguments(),
            "mode": data["mode"],
            "input_data_config": classifier_input_config(
                data, uris["training_uri"], uris.get("test_uri")
            ),
            "output_data_config": {"S3Uri": data["output_uri"]} if data["output_uri"] else None,
        }

    @classmethod
    def initial_from(cls, version) -> dict:
        """Form values that repeat a version's settings (all but its version name)."""
        config = version.input_data_config or {}
        initial = {
            **cls.common_initial(version),
            "mode": version.mode or "MULTI_CLASS",
            "label_delimiter": config.get("LabelDelimiter", "|"),
            "data_format": config.get("DataFormat", "COMPREHEND_CSV"),
            "output_uri": (version.output_data_config or {}).get("S3Uri", ""),
        }
        if initial["data_format"] == "AUGMENTED_MANIFEST":
            by_split = {m.get("Split", "TRAIN"): m for m in config.get("AugmentedManifests", [])}
            train = by_split.get("TRAIN", {})
            initial["training_uri"] = train.get("S3Uri", "")
            initial["attribute_name"] = ", ".join(train.get("AttributeNames") or [])
            if "TEST" in by_split:
                initial.update(test_source="GIVEN", test_uri=by_split["TEST"]["S3Uri"])
        else:
            initial["training_uri"] = config.get("S3Uri", "")
            if config.get("TestS3Uri"):
                initial.update(test_source="GIVEN", test_uri=config["TestS3Uri"])
        return initial


def classifier_input_config(data: dict, training_uri: str, test_uri: str | None) -> dict:
    """A classifier's InputDataConfig in the API's shape from the cleaned form and the URIs."""
    if data["data_format"] == "AUGMENTED_MANIFEST":
        attribute = [name.strip() for name in data["attribute_name"].split(",") if name.strip()]
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


class ManyTextInputs(forms.TextInput):
    """Any number of text inputs sharing one name; the template draws them."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)


class EntityTypesField(forms.Field):
    """A list of entity type names, one per input; blank inputs are rows left unused."""

    widget = ManyTextInputs
    default_error_messages = {"required": "Add at least one entity type."}

    def to_python(self, value):
        if value in (None, ""):
            return []
        if isinstance(value, str):
            value = [value]
        return [item.strip() for item in value if item and item.strip()]


class RecognizerCreateForm(EntitySourceFields, ModelCreateForm):
    kind = ModelKind.RECOGNIZER
    name_label = "Recognizer name"
    SOURCES = {
        "documents_uri": ("documents_file", "Training documents"),
        "annotations_uri": ("annotations_file", "Annotations"),
        "entity_list_uri": ("entity_list_file", "Entity list"),
        "test_documents_uri": ("test_documents_file", "Test documents"),
        "test_annotations_uri": ("test_annotations_file", "Test annotations"),
        "manifest_uri": ("manifest_file", "Augmented manifest"),
        "test_manifest_uri": ("test_manifest_file", "Test manifest"),
    }
    API_FIELDS = {
        **ModelCreateForm.API_FIELDS,
        "RecognizerName": "name",
        "InputDataConfig.DataFormat": "data_format",
        "InputDataConfig.EntityTypes": "entity_types",
        "InputDataConfig.Documents.S3Uri": "documents_uri",
        "InputDataConfig.Documents.InputFormat": "input_format",
        "InputDataConfig.Documents.TestS3Uri": "test_documents_uri",
        "InputDataConfig.Annotations": "annotations_uri",
        "InputDataConfig.Annotations.S3Uri": "annotations_uri",
        "InputDataConfig.Annotations.TestS3Uri": "test_annotations_uri",
        "InputDataConfig.EntityList.S3Uri": "entity_list_uri",
        # The form sends the training manifest first and the test manifest second.
        "InputDataConfig.AugmentedManifests": "manifest_uri",
        "InputDataConfig.AugmentedManifests.1.S3Uri": "manifest_uri",
        "InputDataConfig.AugmentedManifests.1.AttributeNames": "attribute_name",
        "InputDataConfig.AugmentedManifests.2.S3Uri": "test_manifest_uri",
        "InputDataConfig.AugmentedManifests.2.AttributeNames": "attribute_name",
    }

    entity_types = EntityTypesField(
        label="Custom entity types",
        help_text=(
            "Upper-case words joined by underscores, e.g. PERSON or PRODUCT_CODE; at most 25. "
            "Clear a box to remove its type."
        ),
    )
    data_format = forms.ChoiceField(
        label="Data format",
        choices=RECOGNIZER_FORMAT_CHOICES,
        initial="COMPREHEND_CSV",
        widget=forms.RadioSelect,
    )
    training_type = forms.ChoiceField(
        label="Training type",
        choices=TRAINING_TYPE_CHOICES,
        initial="ANNOTATIONS",
        widget=forms.RadioSelect,
        help_text="An entity list annotates the documents itself; the model then learns to find "
        "entities that are not in the list.",
    )
    input_format = forms.ChoiceField(
        label="Document format",
        choices=INPUT_FORMAT_CHOICES,
        initial="ONE_DOC_PER_LINE",
        widget=forms.RadioSelect,
    )
    documents_uri = forms.CharField(
        label="Training documents S3 URI",
        max_length=1024,
        required=False,
        help_text="A file, or a folder (prefix) of files: one per document with 'One document "
        "per file'. File names must match the File column of the annotations.",
    )
    documents_file = forms.FileField(
        label="…or upload the documents file",
        required=False,
        help_text="One document per line; stored under s3://uploads/ with its file name.",
    )
    attribute_name = forms.CharField(
        label="Attribute name",
        max_length=63,
        required=False,
        help_text="The attribute of each line that holds the entity annotations.",
    )
    test_documents_uri = forms.CharField(
        label="Test documents S3 URI", max_length=1024, required=False
    )
    test_documents_file = forms.FileField(label="…or upload the test documents", required=False)
    test_annotations_uri = forms.CharField(
        label="Test annotations S3 URI", max_length=1024, required=False
    )
    test_annotations_file = forms.FileField(label="…or upload the test annotations", required=False)
    test_manifest_uri = forms.CharField(
        label="Test manifest S3 URI", max_length=1024, required=False
    )
    test_manifest_file = forms.FileField(label="…or upload the test manifest", required=False)

    def entity_type_rows(self) -> tuple[list, list]:
        """(rows shown, rows behind "more") as (number, value): what was typed or prefilled,
        then blank rows up to Comprehend's limit."""
        raw = self["entity_types"].value() or []
        values = [v for v in ([raw] if isinstance(raw, str) else raw) if v and v.strip()]
        shown = max(MIN_ENTITY_TYPE_ROWS, len(values) + 1)
        values += [""] * (MAX_ENTITY_TYPE_ROWS - len(values))
        rows = list(enumerate(values, start=1))
        return rows[:shown], rows[shown:]

    def needed(self, data) -> list[str]:
        given = data.get("test_source") == "GIVEN"
        if data.get("data_format") == "AUGMENTED_MANIFEST":
            return ["manifest_uri", *(["test_manifest_uri"] if given else [])]
        if data.get("training_type") == "ENTITY_LIST":
            return ["documents_uri", "entity_list_uri"]
        tests = ["test_documents_uri", "test_annotations_uri"] if given else []
        return ["documents_uri", "annotations_uri", *tests]

    def clean(self):
        data = super().clean()
        manifest = data.get("data_format") == "AUGMENTED_MANIFEST"
        if manifest and not data.get("attribute_name", "").strip():
            self.add_error("attribute_name", "Name the attribute that holds the annotations.")
        if not manifest and data.get("test_source") == "GIVEN":
            if data.get("training_type") == "ENTITY_LIST":
                self.add_error(
                    "test_source",
                    "A recognizer trained from an entity list is tested on a split of its own "
                    "documents; choose autosplit, or train from annotations.",
                )
        if not manifest and data.get("input_format") == "ONE_DOC_PER_FILE":
            for field in ("documents_file", "test_documents_file"):
                if data.get(field):
                    self.add_error(
                        field,
                        "With one document per file, give the S3 URI of the folder that holds "
                        "the files; an upload is a single file.",
                    )
        return data

    def service_arguments(self, uris: dict) -> dict:
        """recognizer_create's arguments, given where each needed source is stored."""
        return {
            **self.common_arguments(),
            "input_data_config": recognizer_input_config(self.cleaned_data, uris),
        }

    @classmethod
    def initial_from(cls, version) -> dict:
        """Form values that repeat a version's settings (all but its version name)."""
        config = version.input_data_config or {}
        initial = {
            **cls.common_initial(version),
            "entity_types": [t.get("Type", "") for t in config.get("EntityTypes", [])],
            "data_format": config.get("DataFormat", "COMPREHEND_CSV"),
        }
        if initial["data_format"] == "AUGMENTED_MANIFEST":
            by_split = {m.get("Split", "TRAIN"): m for m in config.get("AugmentedManifests", [])}
            train = by_split.get("TRAIN", {})
            initial["manifest_uri"] = train.get("S3Uri", "")
            initial["attribute_name"] = (train.get("AttributeNames") or [""])[0]
            if "TEST" in by_split:
                initial.update(test_source="GIVEN", test_manifest_uri=by_split["TEST"]["S3Uri"])
            return initial
        documents = config.get("Documents", {})
        initial["documents_uri"] = documents.get("S3Uri", "")
        initial["input_format"] = documents.get("InputFormat", "ONE_DOC_PER_LINE")
        if "EntityList" in config:
            initial["training_type"] = "ENTITY_LIST"
            initial["entity_list_uri"] = config["EntityList"].get("S3Uri", "")
        else:
            annotations = config.get("Annotations", {})
            initial["training_type"] = "ANNOTATIONS"
            initial["annotations_uri"] = annotations.get("S3Uri", "")
            if documents.get("TestS3Uri"):
                initial.update(
                    test_source="GIVEN",
                    test_documents_uri=documents["TestS3Uri"],
                    test_annotations_uri=annotations.get("TestS3Uri", ""),
                )
        return initial


def recognizer_input_config(data: dict, uris: dict) -> dict:
    """A recognizer's InputDataConfig in the API's shape from the cleaned form and the URIs."""
    types = [{"Type": t} for t in data["entity_types"]]
    if data["data_format"] == "AUGMENTED_MANIFEST":
        attribute = [data["attribute_name"].strip()]
        manifests = [{"S3Uri": uris["manifest_uri"], "AttributeNames": attribute, "Split": "TRAIN"}]
        if uris.get("test_manifest_uri"):
            manifests.append(
                {"S3Uri": uris["test_manifest_uri"], "AttributeNames": attribute, "Split": "TEST"}
            )
        return {
            "DataFormat": "AUGMENTED_MANIFEST",
            "EntityTypes": types,
            "AugmentedManifests": manifests,
        }
    documents = {"S3Uri": uris["documents_uri"], "InputFormat": data["input_format"]}
    config = {"DataFormat": "COMPREHEND_CSV", "EntityTypes": types, "Documents": documents}
    if "entity_list_uri" in uris:
        config["EntityList"] = {"S3Uri": uris["entity_list_uri"]}
        return config
    config["Annotations"] = {"S3Uri": uris["annotations_uri"]}
    if uris.get("test_documents_uri"):
        documents["TestS3Uri"] = uris["test_documents_uri"]
        config["Annotations"]["TestS3Uri"] = uris["test_annotations_uri"]
    return config


class TryTextForm(forms.Form):
    text = forms.CharField(
        label="Text",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Up to 10,000 bytes of UTF-8, as for Comprehend's DetectEntities.",
        error_messages={"required": "Paste some text to find its entities."},
    )

    def clean_text(self):
        text = self.cleaned_data["text"]
        if not text.strip():
            raise forms.ValidationError("Paste some text to find its entities.")
        size = len(text.encode("utf-8"))
        if size > MAX_TRY_BYTES:
            raise forms.ValidationError(
                f"The text is {size:,} bytes of UTF-8; the limit is {MAX_TRY_BYTES:,} bytes. "
                "Shorten it, or analyse long documents with an entities detection job."
            )
        return text
