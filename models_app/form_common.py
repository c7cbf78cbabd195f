"""Pieces every console form shares: field-rule errors in plain words, tag rows and uploaded
files."""

import re
import uuid
from pathlib import Path

from django import forms

from models_app import kinds
from webapp.core import arns, storage
from webapp.core.errors import ServiceError
from webapp.core.validation import check_tags, in_words


def checked(check, value, **kwargs):
    """Run one of the shared field rules, turning its ServiceError into a form error in words."""
    try:
        return check(value, **kwargs)
    except ServiceError as exc:
        raise forms.ValidationError(in_words(exc.message)) from None


class PlainWords:
    """A console form says in words what a service said in the API's: every message put on it
    with `add_error` (a view's ServiceError at the field its `field` names, a clean method's)
    passes through `validation.in_words`, so no form shows a constraint's pattern."""

    def add_error(self, field, error):
        if isinstance(error, ServiceError):
            error = error.message
        if isinstance(error, str):
            error = in_words(error)
        super().add_error(field, error)


def add_service_error(form, exc: ServiceError) -> None:
    """Put a service error on the form, at the field holding the member it names, in words."""
    form.add_error(error_field(form, exc), in_words(exc.message))


class EntitySourceFields(forms.Form):
    """The recognizer's annotation sources, each an S3 URI or an upload: the same on the create
    form and on a flywheel's dataset form."""

    annotations_uri = forms.CharField(
        label="Annotations S3 URI",
        max_length=1024,
        required=False,
        help_text="CSV with the header File,Line,Begin Offset,End Offset,Type.",
    )
    annotations_file = forms.FileField(label="…or upload the annotations file", required=False)
    entity_list_uri = forms.CharField(
        label="Entity list S3 URI",
        max_length=1024,
        required=False,
        help_text="CSV with the header Text,Type.",
    )
    entity_list_file = forms.FileField(label="…or upload the entity list", required=False)
    manifest_uri = forms.CharField(
        label="Augmented manifest S3 URI", max_length=1024, required=False
    )
    manifest_file = forms.FileField(label="…or upload the manifest", required=False)


class SourcesMixin(PlainWords):
    """For forms taking data sources as an S3 URI or an upload each: SOURCES maps each URI field
    to (its file field, what the source is called); `needed(data)` names the ones the chosen
    options need."""

    SOURCES: dict[str, tuple[str, str]] = {}

    def needed(self, data) -> list[str]:
        """The URI fields of the data sources the chosen options need."""
        raise NotImplementedError

    def _one_source(self, uri_field):
        """A needed source: exactly one of a well-formed S3 URI and an uploaded file."""
        file_field, what = self.SOURCES[uri_field]
        if file_field in self.errors:  # an upload that was refused says why on its own field
            return
        uri = (self.cleaned_data.get(uri_field) or "").strip()
        self.cleaned_data[uri_field] = uri
        has_file = bool(self.cleaned_data.get(file_field))
        if uri and has_file:
            self.add_error(uri_field, f"Give an S3 URI or a file for the {what.lower()}, not both.")
        elif not uri and not has_file:
            self.add_error(uri_field, f"Give an S3 URI or upload a file for the {what.lower()}.")
        elif uri:
            try:
                storage.parse_uri(uri, field=what)
            except ServiceError as exc:
                self.add_error(uri_field, in_words(exc.message))

    def sources(self) -> list[tuple[str, str]]:
        """(uri field, file field) of each source the valid form needs, for the view to resolve."""
        return [(uri, self.SOURCES[uri][0]) for uri in self.needed(self.cleaned_data)]

    def remember_upload(self, uri_field: str, uri: str) -> None:
        """Show a stored upload's URI in the form, so a re-shown form needs no second upload."""
        self.data = self.data.copy()
        self.data[uri_field] = uri


class TagRowsMixin(PlainWords):
    """Key/value rows for tags; clean_tag_rows() returns them in the API's shape."""

    MIN_TAG_ROWS = 3
    SPARE_TAG_ROWS = 1  # empty rows after the given tags

    def add_tag_fields(self, tags=()):
        rows = max(self.MIN_TAG_ROWS, len(tags) + self.SPARE_TAG_ROWS)
        if self.is_bound:
            rows = max(rows, len([k for k in self.data if k.startswith("tag_key_")]))
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

    def tag_rows(self):
        return [(self[f"tag_key_{i}"], self[f"tag_value_{i}"]) for i in range(self.tag_count)]

    def clean_tag_rows(self, data) -> list[dict]:
        pairs = []
        for i in range(self.tag_count):
            key, value = data.get(f"tag_key_{i}", "").strip(), data.get(f"tag_value_{i}", "")
            if key:
                pairs.append({"Key": key, "Value": value})
            elif value:
                self.add_error(f"tag_key_{i}", "A tag with a value needs a key.")
        try:
            return [{"Key": k, "Value": v} for k, v in check_tags(pairs)]
        except ServiceError as exc:
            self.add_error(None, exc.message)
            return []


def upload_name(filename: str) -> str:
    """A safe object name for an uploaded file: its own name, without folders or odd characters."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).name).strip(".")
    return name or "upload"


def store_upload(account_id: str, upload) -> str:
    """Store a file uploaded through a console form in the account's uploads bucket; its URI."""
    uri = storage.S3Uri("uploads", f"{uuid.uuid4().hex}/{upload_name(upload.name)}")
    storage.save_upload(account_id, uri, upload)
    return str(uri)


def error_field(form, exc: ServiceError) -> str | None:
    """The form field holding the request member a service error names (the form's
    `API_FIELDS`), or None for an error about the request as a whole. An error about one tag
    (its message names the tag as key=value) goes to that tag's value."""
    if exc.field == "Tags" and getattr(form, "tag_count", 0):
        for i in range(form.tag_count):
            key = (form.data.get(f"tag_key_{i}") or "").strip()
            if key and f"{key}=" in exc.message:
                return f"tag_value_{i}"
    return form.API_FIELDS.get(exc.field) if exc.field else None


def version_label(version) -> str:
    name = version.model.name
    return f"{name} · {version.label}"


def version_choices(versions, kind: str | None = None) -> list:
    """The trained versions as <select> choices grouped by kind, valued by their ARN."""
    groups = {}
    for version in versions:
        if kind is None or version.model.kind == kind:
            groups.setdefault(version.model.kind, []).append((version.arn, version_label(version)))
    return [(spec.group_label, groups[k]) for k, spec in kinds.KINDS.items() if k in groups]


def role_field(value: str, label: str) -> str:
    value = (value or "").strip()
    return checked(arns.parse_role, value, field=label) if value else ""
