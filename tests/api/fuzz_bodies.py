"""Request bodies for every operation in the gateway's table, drawn from botocore's input shapes.

Shared by tests/api/test_fuzz.py (a short, reproducible run in the suite) and bench/fuzz_api.py
(a long run). A body is valid for its shape, then perhaps mutated: a member of the wrong type,
a string replaced by a unicode edge case, a required member dropped, an unknown member added.
"""

import base64
import http.client
import io
import json
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.conf import settings
from hypothesis import strategies as st

from webapp.api import shapes

TARGET = "Comprehend_20171127."
CONTENT_TYPE = "application/x-amz-json-1.1"

EDGE_STRINGS = [
    "\ud800",  # lone high surrogate
    "a\udfffb",  # lone low surrogate
    "\udbff\udfff\ud800",  # a pair, then a lone one
    "\x00",
    "nul\x00inside",
    "\U0001d518\U0001d52b\U0001d526",  # astral (mathematical letters)
    "\U0001f600" * 20,
    "\u202eevil\u202c",  # right-to-left override
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",  # Hebrew, right to left
    "\u200f\u200e",
    "e\u0301\u0308",  # combining marks
    "\ufeffbom",
    "\uffff\ufffe",
    "",
    " ",
    "\n\r\t",
    "€",
    "x" * 100_001,
    "\u00e9" * 20_001,
    "../../../etc/passwd",
    "s3://bucket/../../escape",
    "%00%2e%2e",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "arn:aws:comprehend:us-east-1:000000000000:document-classifier/x",
]

WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just([]),
    st.just({}),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.text(max_size=10),
)

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.sampled_from(EDGE_STRINGS),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def pattern_examples(account_id: str) -> dict[str, list[str]]:
    """Valid values for each of botocore's patterns, naming the caller's own resources."""
    arn = f"arn:aws:comprehend:us-east-1:{account_id}"
    return {
        r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$": ["news", "ner", "ep", "v1", "fuzz-1"],
        r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*": ["labelling-job", "attr"],
        r"[-0-9a-zA-Z]+": ["sg-0abc12", "subnet-1"],
        r"^(?![^\n\r\t,]*\\n|\\r|\\t)[^\n\r\t,]+$": ["PERSON", "ORG"],
        r"^([a-zA-Z0-9_])[\\a-zA-Z0-9_@#%*+=:?./!\s-]*$": ["fuzz description"],
        r"^[ ~!@#$%^*\-_+=|\\:;\t>?/]$": ["|", ";"],
        r"[!@#$%&*]": ["*"],
        r"[A-Z_]*": ["TRAINING_COMPLETED"],
        r"[0-9A-Fa-f]+": ["deadbeef"],
        r"[0-9]{8}T[0-9]{6}Z": ["20261207T040000Z"],
        r"^[a-zA-Z0-9-]+$": ["token-1", "6d1c0b5e-1a2b-4c3d"],
        r"arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+": [f"arn:aws:iam::{account_id}:role/fuzz"],
        r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:([0-9]{12}|aws):document-classifier-endpoint/[a-zA-Z0-9](-*[a-zA-Z0-9])*": [
            f"{arn}:document-classifier-endpoint/ep",
            f"{arn}:document-classifier-endpoint/missing",
        ],
        r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:(document-classifier-endpoint|entity-recognizer-endpoint)/[a-zA-Z0-9](-*[a-zA-Z0-9])*": [
            f"{arn}:document-classifier-endpoint/ep",
            f"{arn}:entity-recognizer-endpoint/ep",
        ],
        r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:(document-classifier|entity-recognizer)/[a-zA-Z0-9](-*[a-zA-Z0-9])*(/version/[a-zA-Z0-9](-*[a-zA-Z0-9])*)?": [
            f"{arn}:document-classifier/news/version/v1",
            f"{arn}:entity-recognizer/ner",
            f"{arn}:document-classifier/news",
        ],
        r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:[a-zA-Z0-9-]{1,64}/[a-zA-Z0-9](-*[a-zA-Z0-9])*((/dataset/[a-zA-Z0-9](-*[a-zA-Z0-9])*)|(/version/[a-zA-Z0-9](-*[a-zA-Z0-9])*))?": [
            f"{arn}:document-classifier/news/version/v1",
            f"{arn}:entity-recognizer/ner",
            f"{arn}:document-classifier-endpoint/ep",
            f"{arn}:flywheel/fw",
            f"{arn}:thing/x",
        ],
        r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:document-classifier/[a-zA-Z0-9](-*[a-zA-Z0-9])*(/version/[a-zA-Z0-9](-*[a-zA-Z0-9])*)?": [
            f"{arn}:document-classifier/news/version/v1",
            f"{arn}:document-classifier/news/version/v9",
        ],
        r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:entity-recognizer-endpoint/[a-zA-Z0-9](-*[a-zA-Z0-9])*": [
            f"{arn}:entity-recognizer-endpoint/ep"
        ],
        r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:entity-recognizer/[a-zA-Z0-9](-*[a-zA-Z0-9])*(/version/[a-zA-Z0-9](-*[a-zA-Z0-9])*)?": [
            f"{arn}:entity-recognizer/ner"
        ],
        r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:flywheel/[a-zA-Z0-9](-*[a-zA-Z0-9])*": [
            f"{arn}:flywheel/fw"
        ],
        r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:flywheel/[a-zA-Z0-9](-*[a-zA-Z0-9])*/dataset/[a-zA-Z0-9](-*[a-zA-Z0-9])*": [
            f"{arn}:flywheel/fw/dataset/ds"
        ],
        r"s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?": [
            "s3://fuzz/train.csv",
            "s3://fuzz/in/",
            "s3://fuzz/out/",
            "s3://missing-bucket/x",
            "s3://fuzz/out/" + "a" * (1024 - len("s3://fuzz/out/")),  # botocore's longest
        ],
        r"[\u0009\u000A\u000D\u0020-\u00FF]+": ['{"Version": "2012-10-17", "Statement": []}'],
        r"^([\p{L}\p{Z}\p{N}_.:/=+\-%@]*)$": ["fuzz job", "deadbeefdeadbeefdeadbeefdeadbeef"],
        r"^\P{C}*$": ["SPORT", "NEWS"],
        r"^\p{ASCII}+$": ["alias/fuzz", "1234abcd-12ab-34cd-56ef-1234567890ab"],
    }


def seed(user) -> None:
    """The resources and files the examples name, so that valid bodies get past the lookups."""
    from models_app.models import ModelKind
    from models_app.services.endpoints import endpoint_create
    from tests import factories
    from webapp.core import storage

    account = user.membership.account
    version = factories.version(user, name="news", version_name="v1")
    factories.version(user, name="ner", kind=ModelKind.RECOGNIZER)
    endpoint_create(account=account, name="ep", model_arn=version.arn, desired_units=1)
    labelled = "".join(
        f"{label},{label.lower()} text number {i}\n"
        for i in range(20)
        for label in ("SPORT", "NEWS")
    )
    for key, data in (("train.csv", labelled), ("in/docs.txt", "one document\nanother one\n")):
        storage.save_upload(
            account.account_id, storage.S3Uri("fuzz", key), io.BytesIO(data.encode())
        )


def valid_value(shape, examples: dict[str, list[str]], depth: int = 0):
    """A strategy for values botocore's shape allows, kept small."""
    kind, meta = shape.type_name, shape.metadata
    if kind == "structure":
        if depth > 6:
            return st.just({})
        required = {
            name: valid_value(shape.members[name], examples, depth + 1)
            for name in shape.required_members
        }
        optional = {
            name: valid_value(member, examples, depth + 1)
            for name, member in shape.members.items()
            if name not in required
        }
        return _structure(required, optional)
    if kind == "list":
        low = meta.get("min", 0)
        return st.lists(
            valid_value(shape.member, examples, depth + 1),
            min_size=low,
            max_size=max(low, min(meta.get("max", 3), 3)),
        )
    if kind == "map":
        return st.dictionaries(
            valid_value(shape.key, examples, depth + 1),
            valid_value(shape.value, examples, depth + 1),
            max_size=2,
        )
    if kind == "string":
        if shape.enum:
            return st.sampled_from(shape.enum)
        if "pattern" in meta:
            return st.sampled_from(examples[meta["pattern"]])
        low, high = meta.get("min", 0), min(meta.get("max", 60), 60)
        text = st.text(
            st.characters(codec="utf-8", exclude_characters="\x00"), min_size=low, max_size=high
        )
        if "max" in meta and meta["max"] <= 20_000:
            # The longest value allowed, in two-byte and four-byte characters: columns too narrow
            # for what botocore allows show up here.
            text |= st.sampled_from(["\u00e9" * meta["max"], "\U0001f600" * meta["max"]])
        return text
    if kind in ("integer", "long"):
        low = meta.get("min", -(2**31))
        return st.integers(min_value=low, max_value=meta.get("max", low + 1000))
    if kind in ("float", "double"):
        return st.floats(min_value=0, max_value=1)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.integers(min_value=0, max_value=2**31) | st.just("2026-12-01T00:00:00Z")
    if kind == "blob":
        return st.binary(min_size=1, max_size=32).map(lambda raw: base64.b64encode(raw).decode())
    return st.none()


# Optional members that carry a request's meaning; the others (VpcConfig, Bytes, ModelPolicy, …)
# are mostly ones Textwheel refuses, and drawn one at a time so that some bodies get deeper.
MEANINGFUL = frozenset(
    {
        "DocumentClassifierArn",
        "EntityRecognizerArn",
        "ModelArn",
        "DesiredModelArn",
        "DesiredInferenceUnits",
        "Text",
        "S3Uri",
        "InputFormat",
        "LanguageCode",
        "JobName",
        "VersionName",
        "Mode",
        "Tags",
        "Filter",
        "MaxResults",
        "NextToken",
        "ClientRequestToken",
    }
)


@st.composite
def _structure(draw, required: dict, optional: dict):
    body = {name: draw(strategy) for name, strategy in required.items()}
    for name in sorted(optional):
        if name in MEANINGFUL and draw(st.integers(0, 3)) != 3:
            body[name] = draw(optional[name])
    others = sorted(set(optional) - MEANINGFUL)
    if others and draw(st.integers(0, 3)) == 3:
        name = draw(st.sampled_from(others))
        body[name] = draw(optional[name])
    return body


def _slots(value, out=None):
    """Every (container, key) in a body, so that a mutation can pick any of them."""
    out = [] if out is None else out
    if isinstance(value, dict):
        for key, item in value.items():
            out.append((value, key))
            _slots(item, out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.append((value, i))
            _slots(item, out)
    return out


MUTATIONS = ("none", "type", "unicode", "missing", "extra", "key")


def operation_order(operations) -> list[str]:
    """Deletes last, so that the seeded resources are there for the other operations first."""
    return sorted(operations, key=lambda name: (name.startswith("Delete"), name))


@st.composite
def bodies(draw, operation: str, examples: dict[str, list[str]], mutation: str):
    """A valid body for the operation's input shape, then one mutation of the given kind."""
    shape = shapes.service_model().operation_model(operation).input_shape
    body = draw(valid_value(shape, examples)) if shape is not None else {}
    slots = _slots(body)
    dicts = [body] + [c[k] for c, k in slots if isinstance(c[k], dict)]
    if mutation == "type" and slots:
        container, key = draw(st.sampled_from(slots))
        container[key] = draw(WRONG_TYPES)
    elif mutation == "unicode":
        strings = [(c, k) for c, k in slots if isinstance(c[k], str)]
        value = draw(
            st.sampled_from(EDGE_STRINGS) | st.text(st.characters(codec=None), max_size=30)
        )
        if strings:
            container, key = draw(st.sampled_from(strings))
            container[key] = value
        else:
            body["Text"] = value
    elif mutation == "missing" and slots:
        container, key = draw(st.sampled_from(slots))
        del container[key]
    elif mutation == "extra":
        draw(st.sampled_from(dicts))[draw(st.text(max_size=12))] = draw(JSON_VALUES)
    elif mutation == "key":
        draw(st.sampled_from(dicts))[draw(st.sampled_from(EDGE_STRINGS[:6]))] = "x"
    return body


def encode(body) -> bytes:
    # ensure_ascii keeps lone surrogates as \ud800 escapes, as a JSON library in any language can.
    return json.dumps(body).encode("ascii")


def send(base_url: str, key_id: str, secret: str, operation: str, raw: bytes):
    """POST / signed as botocore signs (region us-east-1): (status, content type, body bytes)."""
    request = AWSRequest(
        method="POST",
        url=base_url,
        data=raw,
        headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET + operation},
    )
    SigV4Auth(Credentials(key_id, secret), "comprehend", "us-east-1").add_auth(request)
    url = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    try:
        conn.request("POST", "/", body=raw, headers=dict(request.headers.items()))
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


def shape_problems(status: int, content_type: str, raw: bytes) -> list[str]:
    """What is wrong with an answer: a 5xx, or anything but AWS's JSON 1.1 shape."""
    problems = []
    if status >= 500:
        problems.append(f"HTTP {status}")
    if content_type != CONTENT_TYPE:
        problems.append(f"content type {content_type!r}")
    try:
        answer = json.loads(raw)
    except ValueError:
        return [*problems, "body is not JSON"]
    if not isinstance(answer, dict):
        return [*problems, "body is not a JSON object"]
    if status >= 400:
        if not isinstance(answer.get("__type"), str) or not answer["__type"]:
            problems.append("no __type")
        if not isinstance(answer.get("message"), str) or not answer["message"]:
            problems.append("no message")
        elif "Traceback" in answer["message"] or any(
            str(path) in answer["message"] for path in (settings.BASE_DIR, settings.DATA_ROOT)
        ):
            problems.append("message shows internals")
    return problems
