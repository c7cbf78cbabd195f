"""Field rules shared by forms and the API: names, lengths, enums, client request tokens."""

import re

from webapp.core.errors import too_many_tags, validation_error

NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
TOKEN_RE = re.compile(r"^[a-zA-Z0-9-]+$")
TAG_KEY_MAX, TAG_VALUE_MAX, TAGS_MAX = 128, 256, 50


def check_name(value, *, field: str, max_length: int = 63, required: bool = True) -> str | None:
    """Comprehend's resource-name rule: letters, digits and inner hyphens, at most `max_length`."""
    if value in (None, ""):
        if required:
            raise validation_error(f"{field} is required.", field=field)
        return None
    if not isinstance(value, str) or len(value) > max_length or not NAME_RE.match(value):
        raise validation_error(
            f"Value '{value}' at '{field}' failed to satisfy constraint: must be at most "
            f"{max_length} characters of letters, digits and hyphens, starting and ending "
            "with a letter or digit (pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$).",
            field=field,
        )
    return value


def check_enum(value, *, field: str, allowed, required: bool = True, default=None):
    if value in (None, ""):
        if required and default is None:
            raise validation_error(f"{field} is required.", field=field)
        return default
    if value not in allowed:
        raise validation_error(
            f"Value '{value}' at '{field}' failed to satisfy constraint: must be one of "
            f"{', '.join(allowed)}.",
            field=field,
        )
    return value


def check_length(value, *, field: str, max_length: int, min_length: int = 0) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not (min_length <= len(value) <= max_length):
        raise validation_error(
            f"Value at '{field}' failed to satisfy constraint: length must be between "
            f"{min_length} and {max_length}.",
            field=field,
        )
    return value


def check_client_token(value, *, field: str = "ClientRequestToken") -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 64 or not TOKEN_RE.match(value):
        raise validation_error(
            f"Value at '{field}' failed to satisfy constraint: at most 64 letters, digits or hyphens.",
            field=field,
        )
    return value


def check_tags(tags, *, field: str = "Tags") -> list[tuple[str, str]]:
    """Validate a list of {Key, Value} and return (key, value) pairs."""
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise validation_error(f"{field} must be a list of tags.", field=field)
    if len(tags) > TAGS_MAX:
        raise too_many_tags(
            f"{field} has {len(tags)} tags; at most {TAGS_MAX} are allowed.", field=field
        )
    pairs, seen = [], set()
    for i, tag in enumerate(tags, start=1):
        key = tag.get("Key") if isinstance(tag, dict) else None
        value = tag.get("Value", "") if isinstance(tag, dict) else None
        if not isinstance(key, str) or not 1 <= len(key) <= TAG_KEY_MAX or key.startswith("aws:"):
            raise validation_error(
                f"{field}.{i}.Key must be 1 to {TAG_KEY_MAX} characters and not start with 'aws:'.",
                field=field,
            )
        if not isinstance(value, str) or len(value) > TAG_VALUE_MAX:
            raise validation_error(
                f"{field}.{i}.Value must be at most {TAG_VALUE_MAX} characters.", field=field
            )
        if key in seen:
            raise validation_error(f"{field}: the key '{key}' appears more than once.", field=field)
        seen.add(key)
        pairs.append((key, value))
    return pairs
