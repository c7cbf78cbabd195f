"""The console's words for the API's: each family of constraint the services raise has a sentence
with no pattern, member name or echoed value, and the services' own messages stay AWS's."""

import pytest

from webapp.core import arns, policies, storage
from webapp.core.errors import ServiceError
from webapp.core.validation import (
    check_client_token,
    check_enum,
    check_length,
    check_name,
    check_tags,
    in_words,
)

API_WORDS = ("failed to satisfy constraint", "pattern", "Value '", "Member must", "^[")


def refusal(check, *args, **kwargs) -> str:
    with pytest.raises(ServiceError) as excinfo:
        check(*args, **kwargs)
    return excinfo.value.message


CASES = [
    (
        (check_name, "my model!"),
        {"field": "Model name"},
        "Use letters, digits and hyphens; no spaces; at most 63 characters. "
        "Start and end with a letter or digit.",
    ),
    (
        (check_name, "-x"),
        {"field": "Endpoint name", "max_length": 40},
        "Use letters, digits and hyphens; no spaces; at most 40 characters. "
        "Start and end with a letter or digit.",
    ),
    ((check_enum, "ja"), {"field": "Mode", "allowed": ["A", "B"]}, "Choose one of: A, B."),
    ((check_length, "x" * 9), {"field": "Note", "max_length": 8}, "Use at most 8 characters."),
    (
        (check_length, "x"),
        {"field": "Note", "min_length": 2, "max_length": 8},
        "Use 2 to 8 characters.",
    ),
    (
        (check_client_token, "a b"),
        {},
        "Use letters, digits and hyphens; no spaces; at most 64 characters.",
    ),
    (
        (storage.parse_uri, "http://data/x.csv"),
        {"field": "Training data"},
        "Give an S3 location such as s3://bucket/path (at most 1,024 characters).",
    ),
    (
        (storage.parse_uri, "s3://data/a/../b"),
        {"field": "Training data"},
        "A path may not have '.' or '..' as one of its folders.",
    ),
    (
        (arns.parse_role, "role"),
        {"field": "Data access role"},
        "Give the ARN of an IAM role, such as arn:aws:iam::111122223333:role/Comprehend.",
    ),
    (
        (arns.parse, "arn:aws:nope"),
        {"field": "ModelArn"},
        "Give the ARN of a Comprehend resource, such as "
        "arn:aws:comprehend:us-east-1:111122223333:document-classifier/name.",
    ),
    (
        (policies.check_text, "Price €"),
        {},
        "The character € (U+20AC) at position 7 is not allowed: use tabs, line breaks and the "
        "characters U+0020 to U+00FF.",
    ),
    ((policies.check_text, ""), {}, "This cannot be empty."),
    (
        (check_tags, [{"Key": "aws:x", "Value": ""}]),
        {},
        "Tag 1: a key has 1 to 128 characters and does not start with “aws:”.",
    ),
    (
        (check_tags, [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]),
        {},
        "The tag key “a” is given twice; give each key once.",
    ),
]


@pytest.mark.parametrize("call, kwargs, words", CASES)
def test_each_constraint_is_said_in_words_and_the_api_keeps_its_own(call, kwargs, words):
    check, *args = call
    message = refusal(check, *args, **kwargs)
    assert in_words(message) == words
    assert not any(api in words for api in API_WORDS)


def test_the_api_keeps_aws_wording():
    message = refusal(check_name, "my model!", field="modelName")
    assert message == (
        "Value 'my model!' at 'modelName' failed to satisfy constraint: must be at most 63 "
        "characters of letters, digits and hyphens, starting and ending with a letter or digit "
        "(pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$)."
    )


@pytest.mark.parametrize(
    "message, words",
    [
        (
            "1 validation error detected: Value at 'outputDataConfig.s3Uri' failed to satisfy "
            "constraint: Member must have length less than or equal to 953",
            "Use at most 953 characters.",
        ),
        (
            "Value 'X' at 'modelType' failed to satisfy constraint: Member must satisfy enum "
            "value set: [DOCUMENT_CLASSIFIER, ENTITY_RECOGNIZER]",
            "Choose one of: DOCUMENT_CLASSIFIER, ENTITY_RECOGNIZER.",
        ),
        (
            "Value 'bad#name' at 'jobName' failed to satisfy constraint: at most 256 letters, "
            "digits, spaces and the characters _ . : / = + - % @.",
            "Use letters, digits, spaces and the characters _ . : / = + - % @; at most 256 "
            "characters.",
        ),
        (
            "Value 'x' at 'flywheelIterationId' failed to satisfy constraint: Member must satisfy "
            "regular expression pattern: [0-9]{8}T[0-9]{6}Z",
            "An iteration id has the form 20240131T120000Z.",
        ),
        (
            "Value 'x' at 'Thing' failed to satisfy constraint: Member must satisfy regular "
            "expression pattern: [a-z]+",
            "This contains characters that are not allowed here.",
        ),
        (
            "Value 's3://Bad_B/x' at 'Input data': 'Bad_B' is not a valid bucket name (3 to 63 "
            "lower-case letters, digits, dots and hyphens).",
            "'Bad_B' is not a valid bucket name (3 to 63 lower-case letters, digits, dots and "
            "hyphens).",
        ),
        (
            "Value 'arn:x' at 'ModelArn' is not a document-classifier ARN.",
            "This is not a document-classifier ARN.",
        ),
        (
            "Input text size exceeds limit. Max length of request text allowed is 10000 bytes "
            "while in this request the text size is 12000 bytes",
            "The text is 12,000 bytes of UTF-8; the limit is 10,000 bytes. Shorten it, or "
            "analyse long documents with an analysis job.",
        ),
        # Messages already in words pass through as they are.
        ("An endpoint named taken already exists.", "An endpoint named taken already exists."),
        ("Give an S3 URI or upload a file.", "Give an S3 URI or upload a file."),
    ],
)
def test_messages_of_other_services(message, words):
    assert in_words(message) == words
