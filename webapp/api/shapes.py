"""Input checks read from botocore's own Comprehend model, so every limit is written once.

botocore checks only required fields, types and minimum lengths on the client side; the server
enforces maximum lengths, patterns, enums and ranges itself, with AWS's message wording.
"""

import functools
import re

import botocore.session

from webapp.errors import validation_error


@functools.cache
def service_model():
    return botocore.session.get_session().get_service_model("comprehend")


@functools.cache
def _pattern(expr: str):
    try:
        return re.compile(expr)
    except re.error:  # a Java-only construct: leave that check to the service code
        return None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _check(shape, value, path: str, errors: list[str]) -> None:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            errors.append(
                f"Value at '{path}' failed to satisfy constraint: Member must be an object"
            )
            return
        for name in shape.required_members:
            if value.get(name) is None:
                errors.append(
                    f"Value null at '{_join(path, name)}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for name, member in shape.members.items():
            if value.get(name) is not None:
                _check(member, value[name], _join(path, name), errors)
    elif kind == "list":
        if not isinstance(value, list):
            errors.append(f"Value at '{path}' failed to satisfy constraint: Member must be a list")
            return
        _bounds(len(value), meta, path, "length", errors, value)
        for i, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{i}.member", errors)
    elif kind == "map":
        if not isinstance(value, dict):
            errors.append(f"Value at '{path}' failed to satisfy constraint: Member must be a map")
    elif kind == "string":
        if not isinstance(value, str):
            errors.append(
                f"Value at '{path}' failed to satisfy constraint: Member must be a string"
            )
            return
        if shape.enum and value not in shape.enum:
            errors.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must "
                f"satisfy enum value set: [{', '.join(shape.enum)}]"
            )
            return
        _bounds(len(value), meta, path, "length", errors, value)
        pattern = _pattern(meta["pattern"]) if "pattern" in meta else None
        if pattern is not None and not pattern.search(value):
            shown = value if len(value) <= 100 else value[:100] + "…"
            errors.append(
                f"Value '{shown}' at '{path}' failed to satisfy constraint: Member must "
                f"satisfy regular expression pattern: {meta['pattern']}"
            )
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(
                f"Value at '{path}' failed to satisfy constraint: Member must be an integer"
            )
            return
        _bounds(value, meta, path, "value", errors, value)
    elif kind in ("float", "double"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            errors.append(
                f"Value at '{path}' failed to satisfy constraint: Member must be a number"
            )
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append(
                f"Value at '{path}' failed to satisfy constraint: Member must be a boolean"
            )
    elif kind == "timestamp":
        if not isinstance(value, int | float | str) or isinstance(value, bool):
            errors.append(
                f"Value at '{path}' failed to satisfy constraint: Member must be a timestamp"
            )


def _bounds(number, meta, path, what, errors, value):
    low, high = meta.get("min"), meta.get("max")
    if low is not None and number < low:
        errors.append(
            f"Value at '{path}' failed to satisfy constraint: Member must have {what} "
            f"greater than or equal to {low}"
        )
    if high is not None and number > high:
        shown = (
            ""
            if what == "length" and isinstance(value, str) and len(value) > 100
            else f" '{value}'"
            if not isinstance(value, list)
            else ""
        )
        errors.append(
            f"Value{shown} at '{path}' failed to satisfy constraint: Member must have "
            f"{what} less than or equal to {high}"
        )


def _join(path: str, name: str) -> str:
    return f"{path}.{_camel(name)}" if path else _camel(name)


def validate_input(operation: str, body: dict) -> None:
    """Raise ValidationException listing every constraint the request breaks, as AWS words it."""
    shape = service_model().operation_model(operation).input_shape
    if shape is None:
        return
    errors: list[str] = []
    _check(shape, body, "", errors)
    if errors:
        count = len(errors)
        raise validation_error(
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(errors)
        )


def operation_names() -> set[str]:
    return set(service_model().operation_names)
