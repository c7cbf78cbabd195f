"""Console forms for model copy: a version's resource-based policy and importing a shared version.

The policy's grammar is decided by `webapp.core.policies` through the services; these forms only
say in a person's words what the API would refuse with its pattern and length constraints.
"""

import re

from django import forms

from models_app import kinds
from models_app.form_common import PlainWords, TagRowsMixin
from models_app.form_common import checked as _checked
from webapp.core import arns
from webapp.core.errors import ServiceError
from webapp.core.policies import MAX_LENGTH
from webapp.core.validation import check_name

_OUTSIDE_TEXT = re.compile(r"[^\t\n\r\u0020-\u00ff]")
_SID = re.compile(r"[A-Za-z0-9]{1,100}")
POLICY_ROWS = 18


def policy_text_problem(text: str) -> str:
    """Why the API would refuse this policy text before reading it, in a person's words ("" when
    nothing is wrong): its length and the characters it may hold, over the whole text."""
    if len(text) > MAX_LENGTH:
        return f"The policy is {len(text):,} characters long; the limit is {MAX_LENGTH:,}."
    bad = _OUTSIDE_TEXT.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        return (
            f'"{bad.group()}" at line {line}, column {column} cannot be used: a policy holds only '
            "tabs, line breaks and the characters from space to ÿ (U+0020 to U+00FF)."
        )
    return ""


class PolicyField(forms.CharField):
    """A resource-based policy typed as JSON; checked by the services, measured here."""

    widget = forms.Textarea(attrs={"rows": POLICY_ROWS, "spellcheck": "false", "class": "code"})

    def __init__(self, **kwargs):
        kwargs.setdefault("strip", False)  # Describe answers the text as it was saved
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value and not value.strip():
            return ""
        problem = policy_text_problem(value or "")
        if problem:
            raise forms.ValidationError(problem)
        return value


class PolicyForm(PlainWords, forms.Form):
    """The policy editor and its builder. "Build policy" writes the standard statement into the
    editor; "Save policy" puts the editor's text, with the revision the editor showed."""

    API_FIELDS = {"ResourcePolicy": "policy", "PolicyRevisionId": None}
    BUILD, SAVE = "build", "save"

    policy = PolicyField(
        label="Policy (JSON)",
        required=False,
        help_text=(
            "Who may import this version into their own account. Only the action "
            "comprehend:ImportModel can be shared."
        ),
    )
    revision_id = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
    policy_name = forms.CharField(
        label="Policy name",
        required=False,
        max_length=100,
        help_text="Optional; becomes the statement's Sid. Letters and digits only.",
    )
    principals = forms.CharField(
        label="Accounts and users to share with",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=(
            "One per line: a 12-digit account id (everyone in that account), or a user's ARN "
            "such as arn:aws:iam::111122223333:user/alice."
        ),
    )

    def __init__(self, *args, action: str = SAVE, **kwargs):
        super().__init__(*args, **kwargs)
        self.action = action

    def clean_policy_name(self):
        value = self.cleaned_data["policy_name"].strip()
        if value and not _SID.fullmatch(value):
            raise forms.ValidationError(
                "Use letters and digits only, at most 100 (it becomes the statement's Sid)."
            )
        return value

    def clean(self):
        data = super().clean()
        if self.action == self.BUILD:
            if not self.errors and not [p for p in self.principal_lines() if p]:
                self.add_error(
                    "principals", "Name at least one account id or user ARN to share with."
                )
        elif "policy" not in self.errors and not data.get("policy"):
            self.add_error("policy", "Write the policy, or build one from the accounts below.")
        return data

    def principal_lines(self) -> list[str]:
        return [line.strip() for line in (self.cleaned_data.get("principals") or "").splitlines()]

    def show_policy(self, text: str) -> None:
        """Put `text` in the editor of the re-shown form (the builder's output)."""
        self.data = self.data.copy()
        self.data["policy"] = text

    def show_revision(self, revision_id: str) -> None:
        self.data = self.data.copy()
        self.data["revision_id"] = revision_id


class ImportForm(TagRowsMixin, forms.Form):
    """Import a model version another account shared (or one of the account's own)."""

    MIN_TAG_ROWS = 3
    SPARE_TAG_ROWS = 1
    API_FIELDS = {
        "SourceModelArn": "source_model_arn",
        "ModelName": "model_name",
        "VersionName": "version_name",
        "ModelKmsKeyId": "model_kms_key_id",
        "DataAccessRoleArn": "data_access_role_arn",
    }

    source_model_arn = forms.CharField(
        label="Model version ARN",
        max_length=256,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    model_name = forms.CharField(
        label="Model name",
        max_length=63,
        required=False,
        help_text=(
            "A new name creates a model; the name of one of your models adds the copy to it as a "
            "new version. Leave blank to use the source model's name."
        ),
    )
    version_name = forms.CharField(
        label="Version name",
        max_length=63,
        required=False,
        help_text="Optional, unique within the model, e.g. imported-v1.",
    )
    model_kms_key_id = forms.ChoiceField(
        label="Model encryption key",
        required=False,
        help_text="The copy's files are stored encrypted with this key and load only while it "
        "is enabled. Keys are made on the Encryption keys page.",
    )
    data_access_role_arn = forms.CharField(
        label="Service role",
        max_length=2048,
        required=False,
        help_text="Recorded with the copy, as Comprehend does.",
    )

    def __init__(self, *args, kind: str, account_id: str, keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kinds.get(kind)
        self.fields["source_model_arn"].help_text = (
            f"The ARN of the {self.kind.noun} version to copy, as its owner shared it, e.g. "
            f"arn:aws:comprehend:us-east-1:111122223333:{self.kind.arn_type}/news/version/v1."
        )
        self.fields["model_name"].widget.attrs["list"] = "model-names"
        choices = [("", "None: store the copy unencrypted")]
        for key in keys:
            label = f"{key.description} ({key.key_id})" if key.description else key.key_id
            choices.append((key.key_id, label))
        self.fields["model_kms_key_id"].choices = choices
        self.fields["data_access_role_arn"].initial = arns.default_role(account_id)
        self.add_tag_fields()

    def clean_source_model_arn(self):
        value = self.cleaned_data["source_model_arn"].strip()
        example = f"arn:aws:comprehend:<region>:<account>:{self.kind.arn_type}/<name>/version/<v>"
        try:
            arn = arns.parse(value, field="SourceModelArn")
        except ServiceError:
            raise forms.ValidationError(
                f"Paste the ARN of a model version, such as {example}."
            ) from None
        if arn.resource_type not in kinds.arn_types():
            raise forms.ValidationError(
                f"This ARN names no model version; paste one such as {example}."
            )
        if arn.resource_type != self.kind.arn_type:
            other = kinds.of_arn_type(arn.resource_type)
            raise forms.ValidationError(
                f"This is the ARN of {other.a_noun} version; import it from the {other.noun}s' "
                f"page, or paste the ARN of {self.kind.a_noun} version."
            )
        return value

    def clean_model_name(self):
        value = self.cleaned_data["model_name"].strip()
        return _checked(check_name, value, field="Model name", required=False) or ""

    def clean_version_name(self):
        value = self.cleaned_data["version_name"].strip()
        return _checked(check_name, value, field="Version name", required=False) or ""

    def clean_data_access_role_arn(self):
        value = self.cleaned_data["data_access_role_arn"].strip()
        return _checked(arns.parse_role, value, field="Service role") if value else ""

    def clean(self):
        data = super().clean()
        data["tags"] = self.clean_tag_rows(data)
        return data

    def service_arguments(self) -> dict:
        """version_import's arguments (blank fields are left to the service's defaults)."""
        data = self.cleaned_data
        return {
            "source_model_arn": data["source_model_arn"],
            "model_name": data["model_name"] or None,
            "version_name": data["version_name"] or None,
            "model_kms_key_id": data["model_kms_key_id"] or None,
            "data_access_role_arn": data["data_access_role_arn"] or None,
            "tags": data["tags"] or None,
        }
