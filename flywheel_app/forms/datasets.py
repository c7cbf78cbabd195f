"""Console form for a flywheel's datasets: labelled data, uploaded or named by S3 URI."""

from django import forms

from flywheel_app import kind_ops
from flywheel_app.models import DatasetType
from models_app.form_common import EntitySourceFields, SourcesMixin, TagRowsMixin
from models_app.form_common import checked as _checked
from models_app.forms.versions import INPUT_FORMAT_CHOICES, TRAINING_TYPE_CHOICES
from webapp.core.validation import check_name

CLASSIFIER = "InputDataConfig.DocumentClassifierInputDataConfig"
RECOGNIZER = "InputDataConfig.EntityRecognizerInputDataConfig"
TYPE_CHOICES = [
    (DatasetType.TRAIN, "Training: new labelled documents the next iteration trains on"),
    (DatasetType.TEST, "Test: documents the next iteration scores both versions on"),
]
FORMAT_CHOICES = [
    ("COMPREHEND_CSV", "CSV (as the model was trained with)"),
    ("AUGMENTED_MANIFEST", "Augmented manifest (SageMaker Ground Truth JSON lines)"),
]


class DatasetCreateForm(EntitySourceFields, SourcesMixin, TagRowsMixin, forms.Form):
    """CreateDataset for one flywheel; which data fields count depends on the flywheel's kind."""

    MIN_TAG_ROWS = 2
    SPARE_TAG_ROWS = 1
    # uri field -> (file field, what it is): each source is an S3 URI or an upload.
    SOURCES = {
        "documents_uri": ("documents_file", "Documents"),
        "annotations_uri": ("annotations_file", "Annotations"),
        "entity_list_uri": ("entity_list_file", "Entity list"),
        "manifest_uri": ("manifest_file", "Augmented manifest"),
    }
    API_FIELDS = {
        "DatasetName": "name",
        "DatasetType": "dataset_type",
        "Description": "description",
        "InputDataConfig": "documents_uri",
        "InputDataConfig.DataFormat": "data_format",
        f"{CLASSIFIER}": "documents_uri",
        f"{CLASSIFIER}.S3Uri": "documents_uri",
        f"{CLASSIFIER}.LabelDelimiter": "label_delimiter",
        f"{RECOGNIZER}": "documents_uri",
        f"{RECOGNIZER}.Documents": "documents_uri",
        f"{RECOGNIZER}.Documents.S3Uri": "documents_uri",
        f"{RECOGNIZER}.Documents.InputFormat": "input_format",
        f"{RECOGNIZER}.Annotations": "annotations_uri",
        f"{RECOGNIZER}.Annotations.S3Uri": "annotations_uri",
        f"{RECOGNIZER}.EntityList.S3Uri": "entity_list_uri",
        "InputDataConfig.AugmentedManifests": "manifest_uri",
        "InputDataConfig.AugmentedManifests.1.S3Uri": "manifest_uri",
        "InputDataConfig.AugmentedManifests.1.AttributeNames": "attribute_name",
        "InputDataConfig.AugmentedManifests.1.DocumentType": "manifest_uri",
        "InputDataConfig.AugmentedManifests.1.AnnotationDataS3Uri": "manifest_uri",
    }

    name = forms.CharField(
        label="Dataset name",
        max_length=63,
        help_text="Letters, digits and hyphens; unique within the flywheel.",
    )
    dataset_type = forms.ChoiceField(
        label="Dataset type",
        choices=TYPE_CHOICES,
        initial=DatasetType.TRAIN,
        widget=forms.RadioSelect,
    )
    description = forms.CharField(
        label="Description", max_length=2048, required=False, help_text="Optional."
    )
    data_format = forms.ChoiceField(
        label="Data format",
        choices=FORMAT_CHOICES,
        initial="COMPREHEND_CSV",
        widget=forms.RadioSelect,
    )
    label_delimiter = forms.CharField(
        label="Label delimiter",
        max_length=1,
        required=False,
        strip=False,
        help_text="The character between the labels of one document (default |).",
    )
    training_type = forms.ChoiceField(
        label="Annotation type",
        choices=TRAINING_TYPE_CHOICES,
        initial="ANNOTATIONS",
        required=False,  # recognizers only
        widget=forms.RadioSelect,
    )
    input_format = forms.ChoiceField(
        label="Document format",
        choices=INPUT_FORMAT_CHOICES,
        initial="ONE_DOC_PER_LINE",
        required=False,  # recognizers only
        widget=forms.RadioSelect,
    )
    documents_uri = forms.CharField(
        label="Documents S3 URI",
        max_length=1024,
        required=False,
        help_text="A file or a folder in your store, e.g. s3://data/new-labels.csv.",
    )
    documents_file = forms.FileField(
        label="…or upload the documents file",
        required=False,
        help_text="Stored in your account under s3://uploads/.",
    )
    attribute_name = forms.CharField(
        label="Attribute name",
        max_length=255,
        required=False,
        help_text="The attribute of each line that holds the labels or annotations.",
    )

    def __init__(self, *args, kind: str, mode: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.kind, self.mode = kind, mode
        if self.classifier:
            self.fields[
                "documents_uri"
            ].help_text = (
                "A CSV file (label,text per line) or a folder of them, e.g. s3://data/new.csv."
            )
            self.fields["documents_file"].label = "…or upload the CSV file"
        self.add_tag_fields()

    @property
    def classifier(self) -> bool:
        return kind_ops.pick(self.kind, labels=True, spans=False)

    def clean_name(self):
        return _checked(check_name, self.cleaned_data["name"], field="Dataset name")

    def clean_training_type(self):
        return self.cleaned_data["training_type"] or "ANNOTATIONS"

    def clean_input_format(self):
        return self.cleaned_data["input_format"] or "ONE_DOC_PER_LINE"

    def needed(self, data) -> list[str]:
        if data.get("data_format") == "AUGMENTED_MANIFEST":
            return ["manifest_uri"]
        if self.classifier:
            return ["documents_uri"]
        if data.get("training_type") == "ENTITY_LIST":
            return ["documents_uri", "entity_list_uri"]
        return ["documents_uri", "annotations_uri"]

    def clean(self):
        data = super().clean()
        for uri_field in self.needed(data):
            self._one_source(uri_field)
        if (
            data.get("data_format") == "AUGMENTED_MANIFEST"
            and not data.get("attribute_name", "").strip()
        ):
            self.add_error("attribute_name", "Name the attribute that holds the labels.")
        data["tags"] = self.clean_tag_rows(data)
        return data

    def input_data_config(self, uris: dict) -> dict:
        """CreateDataset's InputDataConfig in the API's shape, given where each source is."""
        data = self.cleaned_data
        if data["data_format"] == "AUGMENTED_MANIFEST":
            names = [n.strip() for n in data["attribute_name"].split(",") if n.strip()]
            return {
                "DataFormat": "AUGMENTED_MANIFEST",
                "AugmentedManifests": [{"S3Uri": uris["manifest_uri"], "AttributeNames": names}],
            }
        if self.classifier:
            section = {"S3Uri": uris["documents_uri"]}
            if self.mode == "MULTI_LABEL" and data.get("label_delimiter"):
                section["LabelDelimiter"] = data["label_delimiter"]
            return {"DataFormat": "COMPREHEND_CSV", "DocumentClassifierInputDataConfig": section}
        section = {
            "Documents": {"S3Uri": uris["documents_uri"], "InputFormat": data["input_format"]}
        }
        if "entity_list_uri" in uris:
            section["EntityList"] = {"S3Uri": uris["entity_list_uri"]}
        else:
            section["Annotations"] = {"S3Uri": uris["annotations_uri"]}
        return {"DataFormat": "COMPREHEND_CSV", "EntityRecognizerInputDataConfig": section}

    def service_arguments(self, uris: dict) -> dict:
        """dataset_create's arguments (the account and flywheel come from the view)."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "dataset_type": data["dataset_type"],
            "description": data["description"] or None,
            "input_data_config": self.input_data_config(uris),
            "tags": data["tags"] or None,
        }
