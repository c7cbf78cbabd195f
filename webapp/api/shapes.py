"""Input checks read from botocore's own Comprehend model, so every limit is written once.

botocore checks only required fields, types and minimum lengths on the client side; the server
enforces maximum lengths, patterns, enums and ranges itself, with AWS's message wording.
"""

import base64
import binascii
import functools
import re

import botocore.session
import regex

from webapp.core.errors import validation_error


@functools.cache
def service_model():
    return botocore.session.get_session().get_service_model("comprehend")


@functools.cache
def pattern(expr: str):
    """botocore's pattern compiled as AWS (Java) reads it; `regex` knows `\\p{…}` classes."""
    return regex.compile(expr)


def matches(expr: str, value: str) -> bool:
    # AWS matches a pattern against the whole value (Java's matches()); botocore's patterns are
    # written unanchored, so a search would let one allowed character carry any value through.
    return pattern(expr).fullmatch(value) is not None


# PostgreSQL cannot store NUL, and a lone surrogate cannot be encoded as UTF-8 at all; JSON's
# \u escapes let both through json.loads, so they are refused wherever a string appears.
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_UNSAFE_MESSAGE = (
    "Member must contain only valid Unicode characters (no NUL, no unpaired surrogate)"
)


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
        for name, extra in value.items():
            if name not in shape.members:
                _scan(extra, name, path, errors)
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
            return
        for i, (key, item) in enumerate(value.items(), start=1):
            _check(shape.key, key, f"{path}.{i}.key", errors)
            _check(shape.value, item, f"{path}.{i}.value", errors)
    elif kind == "string":
        if not isinstance(value, str):
            errors.append(
                f"Value at '{path}' failed to satisfy constraint: Member must be a string"
            )
            return
        if _UNSAFE.search(value):
            errors.append(f"Value at '{path}' failed to satisfy constraint: {_UNSAFE_MESSAGE}")
            return
        if shape.enum and value not in shape.enum:
            errors.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must "
                f"satisfy enum value set: [{', '.join(shape.enum)}]"
            )
            return
        _bounds(len(value), meta, path, "length", errors, value)
        if "pattern" in meta and not matches(meta["pattern"], value):
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
        elif isinstance(value, str) and _UNSAFE.search(value):
            errors.append(f"Value at '{path}' failed to satisfy constraint: {_UNSAFE_MESSAGE}")
    elif kind == "blob":
        if not isinstance(value, str) or not _is_base64(value):
            errors.append(
                f"Value at '{path}' failed to satisfy constraint: Member must be "
                "base64-encoded binary data"
            )
            return
        _bounds(len(value) * 3 // 4, meta, path, "length", errors, [])


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return False
    return True


def _scan(value, name, path: str, errors: list[str]) -> None:
    """Walk a member the model does not know (AWS ignores it) for strings no service could keep."""
    stack = [(name, value, path)]
    while stack:
        name, value, parent = stack.pop()
        if isinstance(name, str) and _UNSAFE.search(name):
            errors.append(
                f"Value at '{parent or 'body'}' failed to satisfy constraint: Member names must "
                "contain only valid Unicode characters (no NUL, no unpaired surrogate)"
            )
            continue
        here = _join(parent, name) if isinstance(name, str) else f"{parent}.{name}.member"
        if isinstance(value, str) and _UNSAFE.search(value):
            errors.append(f"Value at '{here}' failed to satisfy constraint: {_UNSAFE_MESSAGE}")
        elif isinstance(value, dict):
            stack.extend((k, v, here) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((i, v, here) for i, v in enumerate(value, start=1))


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


_MAX_LISTED = 20

# Members that also take a flywheel's ARN although botocore's pattern names only models:
# Comprehend's flywheel walkthrough creates its endpoint with `--model-arn …:flywheel/<name>`.
_FLYWHEEL_AS_MODEL = {("CreateEndpoint", "ModelArn")}


def _flywheel_arn_member(operation: str, body: dict) -> str | None:
    for op, member in _FLYWHEEL_AS_MODEL:
        value = body.get(member) if op == operation and isinstance(body, dict) else None
        if isinstance(value, str):
            flywheel = service_model().shape_for("ComprehendFlywheelArn").metadata
            if len(value) <= flywheel["max"] and matches(flywheel["pattern"], value):
                return member
    return None


def validate_input(operation: str, body: dict) -> None:
    """Raise ValidationException listing every constraint the request breaks, as AWS words it."""
    shape = service_model().operation_model(operation).input_shape
    if shape is None:
        return
    member = _flywheel_arn_member(operation, body)
    if member is not None:
        body = {k: v for k, v in body.items() if k != member}
    errors: list[str] = []
    _check(shape, body, "", errors)
    if errors:
        count = len(errors)
        # Every error is counted; a body of thousands of bad items is not echoed back whole.
        shown = errors[:_MAX_LISTED]
        more = f"; and {count - len(shown)} more" if count > len(shown) else ""
        raise validation_error(
            f"{count} validation error{'s' if count > 1 else ''} detected: "
            + "; ".join(shown)
            + more
        )


def operation_names() -> set[str]:
    return set(service_model().operation_names)
