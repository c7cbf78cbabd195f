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


# The console's words for the API's. Services raise AWS's wording (the API must answer exactly
# that); console forms show `in_words(message)` at the field, so a person reads a sentence and
# never a regular expression. One entry per family of constraint, matched on what follows
# "failed to satisfy constraint: "; the value and the member name are left out, since the
# message sits under the input that holds them.
_AWS_PREFIX = re.compile(
    r"^(?:\d+ validation errors? detected: )?Value(?: null| '.*')? at '[^']*'"
    r"(?: failed to satisfy constraint:|:)?\s*",
    re.DOTALL,
)
_ABOUT_VALUE = re.compile(
    r"^(?:\d+ validation errors? detected: )?Value '.*' at '[^']*'(?::\s*|\s+)", re.DOTALL
)
PLAIN_WORDS: list[tuple[re.Pattern, object]] = [
    (
        re.compile(r"must be at most (\d+) characters of letters, digits and hyphens"),
        lambda m: (
            f"Use letters, digits and hyphens; no spaces; at most {m[1]} characters. "
            "Start and end with a letter or digit."
        ),
    ),
    (
        re.compile(r"at most (\d+) letters, digits, spaces and the characters (.*?)\.?$"),
        lambda m: (
            f"Use letters, digits, spaces and the characters {m[2]}; at most {m[1]} characters."
        ),
    ),
    (
        re.compile(r"at most (\d+) letters, digits or hyphens"),
        lambda m: f"Use letters, digits and hyphens; no spaces; at most {m[1]} characters.",
    ),
    (
        re.compile(r"Member must satisfy enum value set: \[(.*)\]|must be one of (.*?)\.?$"),
        lambda m: f"Choose one of: {m[1] or m[2]}.",
    ),
    (
        re.compile(r"Member must have length less than or equal to (\d+)"),
        lambda m: f"Use at most {int(m[1]):,} characters.",
    ),
    (
        re.compile(r"Member must have length greater than or equal to 1\b"),
        lambda m: "This cannot be empty.",
    ),
    (
        re.compile(r"Member must have length greater than or equal to (\d+)"),
        lambda m: f"Use at least {int(m[1]):,} characters.",
    ),
    (
        re.compile(r"length must be between 0 and (\d+)"),
        lambda m: f"Use at most {int(m[1]):,} characters.",
    ),
    (
        re.compile(r"length must be between (\d+) and (\d+)"),
        lambda m: f"Use {int(m[1]):,} to {int(m[2]):,} characters.",
    ),
    (re.compile(r"Member must not be null"), lambda m: "This is required."),
    (
        re.compile(
            r"Input text size exceeds limit\. Max length of request text allowed is (\d+) bytes "
            r"while in this request the text size is (\d+) bytes"
        ),
        lambda m: (
            f"The text is {int(m[2]):,} bytes of UTF-8; the limit is {int(m[1]):,} bytes. "
            "Shorten it, or analyse long documents with an analysis job."
        ),
    ),
    (
        re.compile(r"the key may not contain '\.' or '\.\.' segments"),
        lambda m: "A path may not have '.' or '..' as one of its folders.",
    ),
    (
        re.compile(r"must be an S3 URI such as (\S+) \(at most (\d+) characters\)"),
        lambda m: f"Give an S3 location such as {m[1]} (at most {int(m[2]):,} characters).",
    ),
    (
        re.compile(
            r"^Value '(.*)' at '[^']*' failed to satisfy constraint: it names an existing object; "
            r"give a folder \(prefix\) such as (\S+?)\.?$"
        ),
        lambda m: f"{m[1]} is a file, not a folder: give a folder such as {m[2]}.",
    ),
    (
        re.compile(r"must match arn:aws:iam::<12-digit account>:role/<name>"),
        lambda m: "Give the ARN of an IAM role, such as arn:aws:iam::111122223333:role/Comprehend.",
    ),
    (
        re.compile(r"must be a valid Comprehend ARN"),
        lambda m: (
            "Give the ARN of a Comprehend resource, such as "
            "arn:aws:comprehend:us-east-1:111122223333:document-classifier/name."
        ),
    ),
    (re.compile(r"must be a valid ARN"), lambda m: "Give a valid ARN."),
    (
        re.compile(r"the data lake location is longer than (\d+) characters"),
        lambda m: (
            "Choose a shorter data lake location: with the flywheel's name and folders "
            f"added it would be longer than {int(m[1]):,} characters."
        ),
    ),
    (
        re.compile(r"regular expression pattern: \[0-9\]\{8\}T\[0-9\]\{6\}Z"),
        lambda m: "An iteration id has the form 20240131T120000Z.",
    ),
    (
        re.compile(r"character U\+([0-9A-F]{4}) at position (\d+) is outside it"),
        lambda m: (
            f"The character {chr(int(m[1], 16))} (U+{m[1]}) at position {int(m[2]):,} "
            "is not allowed: use tabs, line breaks and the characters U+0020 to U+00FF."
        ),
    ),
    (
        re.compile(r"regular expression pattern|\(pattern "),
        lambda m: "This contains characters that are not allowed here.",
    ),
    (re.compile(r"Member must be a string"), lambda m: "Give text here."),
    (
        re.compile(r"^Tags\.(\d+)\.Key must be 1 to (\d+) characters and not start with 'aws:'"),
        lambda m: f"Tag {m[1]}: a key has 1 to {m[2]} characters and does not start with “aws:”.",
    ),
    (
        re.compile(r"^Tags\.(\d+)\.Value must be at most (\d+) characters"),
        lambda m: f"Tag {m[1]}: a value has at most {m[2]} characters.",
    ),
    (
        re.compile(r"^Tags: the key '(.*)' appears more than once"),
        lambda m: f"The tag key “{m[1]}” is given twice; give each key once.",
    ),
    (
        re.compile(r"^Tags has (\d+) tags; at most (\d+) are allowed"),
        lambda m: f"Give at most {m[2]} tags ({m[1]} given).",
    ),
]


def in_words(message: str) -> str:
    """The console's sentence for a service message in the API's words: a constraint said
    plainly, without the value, the member name or a pattern. Other messages come back as
    they are."""
    if not isinstance(message, str):
        return message
    for rule, sentence in PLAIN_WORDS:
        found = rule.search(message)
        if found:
            return sentence(found)
    if "failed to satisfy constraint" in message:
        rest = _AWS_PREFIX.sub("", message).strip()
        rest = re.sub(r"^Member must\b", "Must", rest)
        return rest[:1].upper() + rest[1:] if rest else "This value is not allowed here."
    if _ABOUT_VALUE.match(message):
        # "Value 'x' at 'Field': 'y' is not ..." / "Value 'x' at 'Field' is not a ... ARN."
        rest = _ABOUT_VALUE.sub("", message)
        if rest.startswith("is "):
            return "This " + rest
        return rest[:1].upper() + rest[1:]
    return message
