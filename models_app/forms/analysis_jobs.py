"""Console forms for analysis jobs: the shape of what users type."""

import functools

from django import forms

from models_app import kinds
from models_app.form_common import TagRowsMixin, role_field
from models_app.form_common import checked as _checked
from models_app.forms.endpoints import marked_version_choices
from models_app.models import JobKind, JobStatus
from webapp.core import arns, storage

JOB_KIND_CHOICES = JobKind.choices
INPUT_FORMAT_CHOICES = [
    ("ONE_DOC_PER_LINE", "One document per line"),
    ("ONE_DOC_PER_FILE", "One document per file"),
]


class JobFilterForm(forms.Form):
    kind = forms.ChoiceField(
        required=False, label="Analysis type", choices=[("", "Any type"), *JOB_KIND_CHOICES]
    )
    status = forms.ChoiceField(
        required=False, label="Status", choices=[("", "Any status"), *JobStatus.choices]
    )


class JobCreateForm(TagRowsMixin, forms.Form):
    # The request member a service error names -> the form field that holds it.
    API_FIELDS = {
        "JobName": "name",
        "DocumentClassifierArn": "model_arn",
        "EntityRecognizerArn": "model_arn",
        "FlywheelArn": "model_arn",
        "InputDataConfig.S3Uri": "input_uri",
        "InputDataConfig.InputFormat": "input_format",
        "OutputDataConfig.S3Uri": "output_uri",
        "DataAccessRoleArn": "data_access_role_arn",
    }

    name = forms.CharField(label="Job name", max_length=256, required=False, help_text="Optional.")
    kind = forms.ChoiceField(
        label="Analysis type",
        choices=JOB_KIND_CHOICES,
        initial=JobKind.CLASSIFICATION,
        widget=forms.RadioSelect,
    )
    model_arn = forms.ChoiceField(label="Model version")
    input_uri = forms.CharField(
        label="Input data S3 URI",
        max_length=1024,
        required=False,
        help_text="A file, or a prefix naming many, in your store, e.g. s3://data/inbox/.",
    )
    input_file = forms.FileField(
        label="…or upload a file", required=False, help_text="Stored under s3://uploads/."
    )
    input_format = forms.ChoiceField(
        label="Input format",
        choices=INPUT_FORMAT_CHOICES,
        initial="ONE_DOC_PER_LINE",
        widget=forms.RadioSelect,
    )
    output_uri = forms.CharField(
        label="Output location",
        max_length=1024,
        initial="s3://output/",
        help_text="output.tar.gz is written below it, in a folder named after the job.",
    )
    data_access_role_arn = forms.CharField(label="Data access role", max_length=2048)

    def __init__(self, *args, versions, account_id: str, flywheels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.account_id = account_id
        # A flywheel's ARN runs the job with the version active when it starts.
        self.flywheel_kinds = {f.arn: f.kind for f in flywheels}
        following = [(f.arn, f"{f.name} (the flywheel's active version)") for f in flywheels]
        self.fields["model_arn"].choices = [
            ("", "Choose a model version"),
            *marked_version_choices(versions),
            *([("Flywheels", following)] if following else []),
        ]
        self.fields["data_access_role_arn"].initial = arns.default_role(account_id)
        self.add_tag_fields()

    def clean_input_uri(self):
        value = self.cleaned_data["input_uri"].strip()
        if value:
            _checked(storage.parse_uri, value, field="Input data")
        return value

    def clean_output_uri(self):
        value = self.cleaned_data["output_uri"].strip()
        # A folder: output is written below it, which an existing object would prevent.
        check = functools.partial(storage.check_output_location, self.account_id)
        _checked(check, value, field="Output location")
        return value

    def clean_data_access_role_arn(self):
        value = role_field(self.cleaned_data["data_access_role_arn"], "Data access role")
        if not value:
            raise forms.ValidationError("A data access role is required.")
        return value

    def clean(self):
        data = super().clean()
        has_uri, has_file = bool(data.get("input_uri")), bool(data.get("input_file"))
        if has_uri and has_file:
            self.add_error("input_uri", "Give an S3 URI or a file, not both.")
        elif not has_uri and not has_file and "input_uri" not in self.errors:
            self.add_error("input_uri", "Give an S3 URI or upload a file.")
        arn, kind = data.get("model_arn"), data.get("kind")
        if arn and kind:
            wanted = kinds.of_job(kind)
            flywheel_kind = self.flywheel_kinds.get(arn)
            chosen = kinds.get(flywheel_kind) if flywheel_kind else kinds.of_arn(arn)
            if chosen is not wanted:
                self.add_error("model_arn", f"Choose {wanted.a_noun} for this analysis type.")
        data["tags"] = self.clean_tag_rows(data)
        return data

    def remember_upload(self, uri: str) -> None:
        """Show a stored upload's URI in the form, so a re-shown form needs no second upload."""
        self.data = self.data.copy()
        self.data["input_uri"] = uri
