"""What the gateway does with hostile or clumsy input: AWS's error shape, never a 5xx."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from django.conf import settings as dj_settings

from models_app.models import AnalysisJob, Endpoint, ModelVersion
from tests import factories
from webapp.accounts.services.access_keys import access_key_create
from webapp.api import shapes

TARGET = "Comprehend_20171127."


def signed_request(base_url, key_id, secret, operation, body: bytes, headers=None, host=None):
    """Send a signed POST / with http.client, which lets a test choose every header and byte.

    Returns (status, content type, parsed JSON body or the raw text when it is not JSON).
    """
    url = urllib.parse.urlsplit(base_url)
    signed = AWSRequest(
        method="POST",
        url=base_url,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": TARGET + operation,
            **(headers or {}),
        },
    )
    SigV4Auth(Credentials(key_id, secret), "comprehend", "us-east-1").add_auth(signed)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    try:
        conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        for value in host if isinstance(host, list) else [host or url.netloc]:
            conn.putheader("Host", value)
        for name, value in signed.headers.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        conn.send(body)
        resp = conn.getresponse()
        raw = resp.read()
        content_type = resp.getheader("Content-Type", "")
    finally:
        conn.close()
    try:
        return resp.status, content_type, json.loads(raw)
    except ValueError:
        return resp.status, content_type, raw.decode("utf-8", "replace")


@pytest.fixture
def call(live_server, owner):
    key, secret = access_key_create(account=owner.membership.account, user=owner)

    def send(operation, body, **kw):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return signed_request(live_server.url + "/", key.key_id, secret, operation, raw, **kw)

    return send


def assert_aws_error(answer, status, code):
    got_status, content_type, body = answer
    assert (got_status, content_type) == (status, "application/x-amz-json-1.1"), body
    assert isinstance(body, dict) and body["__type"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return body["message"]


# --- 4: lone surrogates and NUL ---------------------------------------------------------------

ACCOUNT = "123456789012"
CLASSIFIER_ARN = f"arn:aws:comprehend:us-east-1:{ACCOUNT}:document-classifier/news"
ENDPOINT_ARN = f"arn:aws:comprehend:us-east-1:{ACCOUNT}:document-classifier-endpoint/ep"
BAD_STRINGS = {"surrogate": "a\ud800b", "low surrogate": "\udfff", "nul": "a\x00b"}


def _create_classifier(bad):
    return {
        "DocumentClassifierName": "news",
        "DataAccessRoleArn": f"arn:aws:iam::{ACCOUNT}:role/r",
        "InputDataConfig": {"S3Uri": "s3://bucket/train.csv"},
        "LanguageCode": "en",
        "VolumeKmsKeyId": bad,
    }


CASES = [
    ("ClassifyDocument", lambda bad: {"EndpointArn": ENDPOINT_ARN, "Text": bad}, "'text'"),
    (
        "TagResource",
        lambda bad: {"ResourceArn": CLASSIFIER_ARN, "Tags": [{"Key": bad, "Value": "v"}]},
        "'tags.1.member.key'",
    ),
    (
        "TagResource",
        lambda bad: {
            "ResourceArn": CLASSIFIER_ARN,
            "Tags": [{"Key": "k", "Value": "v"}, {"Key": "k2", "Value": bad}],
        },
        "'tags.2.member.value'",
    ),
    (
        "CreateEndpoint",
        lambda bad: {
            "EndpointName": "ep",
            "ModelArn": CLASSIFIER_ARN,
            "DesiredInferenceUnits": 1,
            "Tags": [{"Key": "team", "Value": bad}],
        },
        "'tags.1.member.value'",
    ),
    ("CreateDocumentClassifier", _create_classifier, "'volumeKmsKeyId'"),
    ("DescribeDocumentClassificationJob", lambda bad: {"JobId": bad}, "'jobId'"),
    (
        "ListDocumentClassificationJobs",
        lambda bad: {"Filter": {"JobName": bad}},
        "'filter.jobName'",
    ),
    # Members the model does not know are ignored, but not when no service could keep them.
    (
        "ListEndpoints",
        lambda bad: {"Extra": {"nested": [1, {"deeper": bad}]}},
        "'extra.nested.2.member.deeper'",
    ),
]


@pytest.mark.parametrize("bad", BAD_STRINGS.values(), ids=BAD_STRINGS.keys())
@pytest.mark.parametrize(
    ("operation", "build", "field"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES]
)
def test_it_refuses_surrogates_and_nul_naming_the_field(call, owner, operation, build, field, bad):
    factories.version(owner, name="news")
    before = (ModelVersion.objects.count(), Endpoint.objects.count())
    message = assert_aws_error(call(operation, build(bad)), 400, "ValidationException")
    assert field in message
    assert "\ud800" not in message and "\x00" not in message
    assert (ModelVersion.objects.count(), Endpoint.objects.count()) == before


def test_it_refuses_a_surrogate_in_a_member_name(call):
    message = assert_aws_error(call("ListEndpoints", b'{"\\ud800": 1}'), 400, "ValidationException")
    assert "Member names" in message


def test_a_boto3_client_gets_the_validation_error(api, owner):
    client = api(owner)
    with pytest.raises(ClientError) as excinfo:
        client.list_tags_for_resource(ResourceArn=CLASSIFIER_ARN + "\x00")
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"
    assert "resourceArn" in excinfo.value.response["Error"]["Message"]


# --- 5: patterns match the whole value, \p{…} included ------------------------------------------

ARN = f"arn:aws:comprehend:us-east-1:{ACCOUNT}"
# Every distinct pattern in botocore's Comprehend model: a valid value, and one that contains a
# match (or is one but for a trailing newline, which `$` lets through a search) yet is not valid.
PATTERN_FAMILIES = {
    # names
    r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$": ("news-v2", "news-v2\n"),
    r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*": ("my-job", "my-job/part"),
    r"[-0-9a-zA-Z]+": ("sg-0abc12", "sg-0abc12;drop"),
    r"^(?![^\n\r\t,]*\\n|\\r|\\t)[^\n\r\t,]+$": ("PERSON", "PERSON\n"),
    r"^([a-zA-Z0-9_])[\\a-zA-Z0-9_@#%*+=:?./!\s-]*$": ("Model v2: news.", "Model v2 ☃"),
    r"^[ ~!@#$%^*\-_+=|\\:;\t>?/]$": ("|", "|\n"),
    r"[!@#$%&*]": ("*", "**"),
    r"[A-Z_]*": ("TRAINING_COMPLETED", "TRAINING_completed"),
    r"[0-9A-Fa-f]+": ("deadBEEF01", "deadbeefz"),
    r"[0-9]{8}T[0-9]{6}Z": ("20261207T040000Z", "20261207T040000Z1"),
    # client request tokens
    r"^[a-zA-Z0-9-]+$": ("6d1c0b5e-1a2b-4c3d", "6d1c0b5e-1a2b-4c3d\n"),
    # ARNs
    r"arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+": (
        f"arn:aws:iam::{ACCOUNT}:role/Comprehend",
        f"x-arn:aws:iam::{ACCOUNT}:role/Comprehend",
    ),
    r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:([0-9]{12}|aws):document-classifier-endpoint/[a-zA-Z0-9](-*[a-zA-Z0-9])*": (
        f"{ARN}:document-classifier-endpoint/ep-1",
        f"{ARN}:document-classifier-endpoint/ep-1/../other",
    ),
    r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:(document-classifier-endpoint|entity-recognizer-endpoint)/[a-zA-Z0-9](-*[a-zA-Z0-9])*": (
        f"{ARN}:entity-recognizer-endpoint/ep",
        f"{ARN}:entity-recognizer-endpoint/ep ",
    ),
    r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:(document-classifier|entity-recognizer)/[a-zA-Z0-9](-*[a-zA-Z0-9])*(/version/[a-zA-Z0-9](-*[a-zA-Z0-9])*)?": (
        f"{ARN}:entity-recognizer/ner/version/v1",
        f"{ARN}:entity-recognizer/ner/version/v1!",
    ),
    r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:[a-zA-Z0-9-]{1,64}/[a-zA-Z0-9](-*[a-zA-Z0-9])*((/dataset/[a-zA-Z0-9](-*[a-zA-Z0-9])*)|(/version/[a-zA-Z0-9](-*[a-zA-Z0-9])*))?": (
        f"{ARN}:flywheel/fw/dataset/ds",
        f"prefix {ARN}:flywheel/fw/dataset/ds",
    ),
    r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:document-classifier/[a-zA-Z0-9](-*[a-zA-Z0-9])*(/version/[a-zA-Z0-9](-*[a-zA-Z0-9])*)?": (
        f"{ARN}:document-classifier/news",
        f"{ARN}:document-classifier/news/version/",
    ),
    r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:entity-recognizer-endpoint/[a-zA-Z0-9](-*[a-zA-Z0-9])*": (
        f"{ARN}:entity-recognizer-endpoint/ep",
        f"{ARN}:entity-recognizer-endpoint/ep\x7f",
    ),
    r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:entity-recognizer/[a-zA-Z0-9](-*[a-zA-Z0-9])*(/version/[a-zA-Z0-9](-*[a-zA-Z0-9])*)?": (
        f"{ARN}:entity-recognizer/ner",
        f"{ARN}:entity-recognizer/ner:",
    ),
    r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:flywheel/[a-zA-Z0-9](-*[a-zA-Z0-9])*": (
        f"{ARN}:flywheel/fw",
        f"{ARN}:flywheel/fw/dataset/ds",
    ),
    r"arn:aws(-[^:]+)?:comprehend:[a-zA-Z0-9-]*:[0-9]{12}:flywheel/[a-zA-Z0-9](-*[a-zA-Z0-9])*/dataset/[a-zA-Z0-9](-*[a-zA-Z0-9])*": (
        f"{ARN}:flywheel/fw/dataset/ds",
        f"{ARN}:flywheel/fw/dataset/ds/more",
    ),
    # S3 URIs
    r"s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?": (
        "s3://my-bucket/train/data.csv",
        "see s3://my-bucket/train/data.csv",
    ),
    # resource policies: Latin-1 only, so "€" is refused however much of the policy is fine
    r"[\u0009\u000A\u000D\u0020-\u00FF]+": (
        '{"Version": "2012-10-17",\n\t"Statement": [{"Sid": "café"}]}',
        '{"Version": "2012-10-17", "Statement": [{"Sid": "€"}]}',
    ),
    # \p{…} classes (Java/ICU), which Python's re cannot compile
    r"^([\p{L}\p{Z}\p{N}_.:/=+\-%@]*)$": ("Nachrichten Mai 2026 ü", "Nachrichten; Mai"),
    r"^\P{C}*$": ("SPORT und Freizeit", "SPORT\x07"),
    r"^\p{ASCII}+$": ("alias/my-key", "alias/my-clé"),
}


def _model_patterns() -> set[str]:
    model = shapes.service_model()
    return {
        model.shape_for(name).metadata["pattern"]
        for name in model.shape_names
        if "pattern" in model.shape_for(name).metadata
    }


def test_every_pattern_in_the_model_has_a_family_here():
    # A new botocore pattern fails here until it gets a valid and an almost-valid example.
    assert _model_patterns() == set(PATTERN_FAMILIES)


@pytest.mark.parametrize(("expr", "examples"), PATTERN_FAMILIES.items())
def test_it_matches_the_whole_value(expr, examples):
    valid, partial = examples
    assert shapes.matches(expr, valid)
    assert not shapes.matches(expr, partial)


def test_a_policy_with_a_euro_sign_is_refused(call):
    body = _create_classifier("alias/key") | {"ModelPolicy": '{"Sid": "price in €"}'}
    message = assert_aws_error(call("CreateDocumentClassifier", body), 400, "ValidationException")
    assert "'modelPolicy'" in message
    assert ModelVersion.objects.count() == 0


def test_a_job_name_is_checked_against_its_unicode_pattern(api, owner):
    client = api(owner)
    with pytest.raises(ClientError) as excinfo:
        client.list_document_classification_jobs(Filter={"JobName": "news;drop"})
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"
    assert "filter.jobName" in excinfo.value.response["Error"]["Message"]
    listed = client.list_document_classification_jobs(Filter={"JobName": "Nachrichten Mai ü"})
    assert listed["DocumentClassificationJobPropertiesList"] == []


def test_an_arn_with_trailing_text_is_refused(api, owner):
    factories.version(owner, name="news")
    client = api(owner)
    arn = f"arn:aws:comprehend:us-east-1:{owner.membership.account.account_id}"
    with pytest.raises(ClientError) as excinfo:
        client.list_tags_for_resource(ResourceArn=f"{arn}:document-classifier/news trailing")
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"
    assert client.list_tags_for_resource(ResourceArn=f"{arn}:document-classifier/news")


def test_an_output_location_with_no_room_for_the_output_path_is_refused(call, owner, store):
    # botocore allows the S3Uri 1,024 characters; the output path below it is recorded whole and
    # did not fit its column (a 500, found by bench/fuzz_api.py's bodies at their longest).
    account = owner.membership.account.account_id
    factories.version(owner, name="news", version_name="v1")
    store(owner, "in/docs.txt", b"one document\nanother\n")
    longest = "s3://output/" + "a" * (1024 - len("s3://output/"))
    start = {
        "DocumentClassifierArn": f"arn:aws:comprehend:us-east-1:{account}:document-classifier/"
        "news/version/v1",
        "DataAccessRoleArn": f"arn:aws:iam::{account}:role/r",
        "InputDataConfig": {"S3Uri": "s3://data/in/"},
        "OutputDataConfig": {"S3Uri": longest},
    }
    create = {
        "DocumentClassifierName": "other",
        "DataAccessRoleArn": f"arn:aws:iam::{account}:role/r",
        "InputDataConfig": {"S3Uri": "s3://data/in/docs.txt"},
        "OutputDataConfig": {"S3Uri": longest},
        "LanguageCode": "en",
    }
    before = (ModelVersion.objects.count(), AnalysisJob.objects.count())
    for operation, body in (
        ("StartDocumentClassificationJob", start),
        ("CreateDocumentClassifier", create),
    ):
        message = assert_aws_error(call(operation, body), 400, "ValidationException")
        assert "'outputDataConfig.s3Uri'" in message and "953" in message
    assert (ModelVersion.objects.count(), AnalysisJob.objects.count()) == before
    start["OutputDataConfig"]["S3Uri"] = longest[:953]
    status, _, answer = call("StartDocumentClassificationJob", start)
    assert status == 200, answer
    assert len(AnalysisJob.objects.get(job_id=answer["JobId"]).output_uri) == 1024


# --- 6: deep JSON, NaN and oversize bodies ------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"Filter": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_001,
        # Deep enough to pass the parser, too deep for anything that walks it recursively later.
        b'{"Filter": {"Extra": ' + b"[" * 900 + b"]" * 900 + b"}}",
        b'{"MaxResults": NaN}',
        b'{"MaxResults": Infinity}',
        b'{"MaxResults": 1',
        b'{"Extra": "\xff"}',
    ],
    ids=[
        "deep-list",
        "deep-object",
        "deep-inside-a-member",
        "nan",
        "infinity",
        "truncated",
        "not-utf8",
    ],
)
def test_it_answers_serialization_exception_for_bodies_that_are_not_json(call, body):
    assert_aws_error(call("ListEndpoints", body), 400, "SerializationException")


def test_a_60_mb_body_answers_413_in_aws_shape(call):
    message = assert_aws_error(
        call("ClassifyDocument", b'{"Text": "' + b"a" * (60 * 1024 * 1024) + b'"}'),
        413,
        "RequestEntityTooLargeException",
    )
    assert str(16 * 1024 * 1024) in message


def test_the_api_body_limit_is_its_own_setting(call, settings):
    settings.API_MAX_BODY_BYTES = 1000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    ok = call("ListEndpoints", {"MaxResults": 5, "Pad": "x" * 900})
    assert ok[0] == 200, ok
    assert_aws_error(
        call("ListEndpoints", {"Pad": "x" * 1000}), 413, "RequestEntityTooLargeException"
    )


# --- 7: refusals in front of the gateway keep AWS's shape --------------------------------------


def test_a_host_outside_allowed_hosts_answers_json(call):
    message = assert_aws_error(
        call("ListEndpoints", {}, host="evil.example"), 400, "InvalidRequestException"
    )
    assert "Host" in message


def test_a_duplicate_host_header_answers_json(call, live_server):
    netloc = urllib.parse.urlsplit(live_server.url).netloc
    assert_aws_error(
        call("ListEndpoints", {}, host=[netloc, netloc]), 400, "InvalidRequestException"
    )


def test_a_large_header_reaches_the_gateway(call):
    # Headers up to gunicorn's limit_request_field_size (8190 bytes by default) reach Django;
    # past it gunicorn answers itself (see the README).
    status, content_type, body = call("ListEndpoints", {}, headers={"X-Padding": "p" * 8000})
    assert (status, content_type) == (200, "application/x-amz-json-1.1"), body


@pytest.fixture
def gunicorn(live_server, owner):
    """gunicorn as `make web` starts it (with webapp/gunicorn_conf.py), on the test database."""
    from tests.conftest import REPO, database_url

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, DATABASE_URL=database_url(), DATA_ROOT=str(dj_settings.DATA_ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "webapp.wsgi", "--bind", f"127.0.0.1:{port}"]
        + ["--config", "python:webapp.gunicorn_conf"]
        + ["--workers", "1", "--threads", "8"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        key, secret = access_key_create(account=owner.membership.account, user=owner)
        yield lambda operation, body, **kw: signed_request(
            f"http://127.0.0.1:{port}/", key.key_id, secret, operation, body, **kw
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_gunicorn_answers_its_own_refusals_in_aws_shape(gunicorn):
    # What gunicorn refuses never reaches Django; its worker answers in AWS's shape, keeping
    # gunicorn's status.
    status, content_type, body = gunicorn("ListEndpoints", b"{}")
    assert (status, content_type) == (200, "application/x-amz-json-1.1"), body
    big = gunicorn("ListEndpoints", b"{}", headers={"X-Padding": "p" * 9000})
    assert "too large" in assert_aws_error(big, 431, "InvalidRequestException")
    many = gunicorn("ListEndpoints", b"{}", headers={f"X-Pad-{i}": "p" for i in range(120)})
    assert_aws_error(many, 431, "InvalidRequestException")
    host = "127.0.0.1"
    assert_aws_error(
        gunicorn("ListEndpoints", b"{}", host=[host, host]), 400, "InvalidRequestException"
    )
    assert_aws_error(
        gunicorn("ClassifyDocument", b'{"Text": "' + b"a" * (20 * 1024 * 1024) + b'"}'),
        413,
        "RequestEntityTooLargeException",
    )


def test_the_console_keeps_its_html_pages(client, settings):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_the_model_has_no_shape_the_gateway_cannot_check():
    # The checks above cover these types; a new one in botocore needs a check first.
    model = botocore.session.get_session().get_service_model("comprehend")
    kinds = {model.shape_for(name).type_name for name in model.shape_names}
    assert kinds <= {
        "structure",
        "list",
        "map",
        "string",
        "integer",
        "long",
        "float",
        "double",
        "boolean",
        "timestamp",
        "blob",
    }
