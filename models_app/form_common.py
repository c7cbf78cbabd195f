"""Pieces every console form shares: field-rule errors and tag rows."""

from django import forms

from webapp.core.errors import ServiceError
from webapp.core.validation import check_tags


def checked(check, value, **kwargs):
    """Run one of the shared field rules, turning its ServiceError into a form error."""
    try:
        return check(value, **kwargs)
    except ServiceError as exc:
        raise forms.ValidationError(exc.message) from None


class TagRowsMixin:
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
