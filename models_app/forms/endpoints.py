"""Console forms for endpoints: the shape of what users type."""

from django import forms
from django.conf import settings

from models_app import kinds
from models_app.form_common import TagRowsMixin, role_field, version_choices
from models_app.form_common import checked as _checked
from models_app.selectors import best_of_models
from webapp.core.validation import check_name


def best_score_text(kind: str, f1: float) -> str:
    """How an option names the best version's score, as the model pages show scores."""
    return f"F1 {f1 * 100:.2f}%" if kind == kinds.RECOGNIZER.kind else f"F1 {f1:.4f}"


def marked_version_choices(versions, kind: str | None = None) -> list:
    """version_choices, with the best version of each model that has several marked
    "(best F1 …)", so the choice between versions of one model is an informed one."""
    versions = list(versions)
    best = best_of_models(versions)
    marks = {
        v.arn: f" (best {best_score_text(v.model.kind, best[v.pk])})"
        for v in versions
        if v.pk in best
    }
    return [
        (group, [(arn, label + marks.get(arn, "")) for arn, label in options])
        for group, options in version_choices(versions, kind)
    ]


class EndpointCreateForm(TagRowsMixin, forms.Form):
    # The request member a service error names -> the form field that holds it.
    API_FIELDS = {
        "EndpointName": "name",
        "ModelArn": "model_arn",
        "DesiredInferenceUnits": "inference_units",
        "DataAccessRoleArn": "data_access_role_arn",
    }

    name = forms.CharField(
        label="Endpoint name",
        max_length=40,
        help_text="Up to 40 letters, digits and hyphens; unique in your account.",
    )
    model_arn = forms.ChoiceField(
        label="Model version", help_text="A trained version of one of your models."
    )
    inference_units = forms.IntegerField(
        label="Inference units",
        min_value=1,
        initial=1,
        help_text="Recorded as in Comprehend (1 unit = 100 characters per second there); they "
        "limit throughput only when the operator sets an allowance per unit.",
    )
    data_access_role_arn = forms.CharField(
        label="Data access role", max_length=2048, required=False, help_text="Optional."
    )

    def __init__(self, *args, versions, flywheels=(), **kwargs):
        super().__init__(*args, **kwargs)
        # A flywheel's ARN is accepted as ModelArn (as Comprehend's walkthrough passes it): the
        # endpoint then follows the flywheel's active version.
        following = [
            (f.arn, f"{f.name} (follows the flywheel's active version)") for f in flywheels
        ]
        self.fields["model_arn"].choices = [
            ("", "Choose a model version"),
            *marked_version_choices(versions),
            *([("Flywheels", following)] if following else []),
        ]
        self.fields["inference_units"].max_value = settings.INFERENCE_MAX_UNITS_PER_ENDPOINT
        self.fields["inference_units"].widget.attrs["max"] = (
            settings.INFERENCE_MAX_UNITS_PER_ENDPOINT
        )
        self.add_tag_fields()

    def clean_name(self):
        return _checked(check_name, self.cleaned_data["name"], field="Endpoint name", max_length=40)

    def clean_data_access_role_arn(self):
        return role_field(self.cleaned_data["data_access_role_arn"], "Data access role")

    def clean(self):
        data = super().clean()
        data["tags"] = self.clean_tag_rows(data)
        return data


class EndpointUpdateForm(forms.Form):
    API_FIELDS = {
        "DesiredModelArn": "model_arn",
        "DesiredInferenceUnits": "inference_units",
        "DesiredDataAccessRoleArn": "data_access_role_arn",
    }

    model_arn = forms.ChoiceField(label="Model version")
    inference_units = forms.IntegerField(label="Inference units", min_value=1)
    data_access_role_arn = forms.CharField(
        label="Data access role", max_length=2048, required=False
    )

    def __init__(self, *args, versions, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_arn"].choices = marked_version_choices(versions, kind)
        self.fields["inference_units"].max_value = settings.INFERENCE_MAX_UNITS_PER_ENDPOINT
        self.fields["inference_units"].widget.attrs["max"] = (
            settings.INFERENCE_MAX_UNITS_PER_ENDPOINT
        )

    def clean_data_access_role_arn(self):
        return role_field(self.cleaned_data["data_access_role_arn"], "Data access role")


class AnalyzeForm(forms.Form):
    text = forms.CharField(
        label="Text to analyse",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "data-byte-limit": 10000}),
        help_text="Up to 10,000 bytes of UTF-8 text.",
    )
