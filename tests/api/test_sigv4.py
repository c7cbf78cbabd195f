"""SigV4 as AWS enforces it: the signature binds the body, the operation and the region."""

import hashlib
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from models_app.models import CustomModel
from tests import factories
from webapp.accounts.services.access_keys import access_key_create

LIST = "Comprehend_20171127.ListDocumentClassifiers"
CREATE = "Comprehend_20171127.CreateDocumentClassifier"


def _send(url: str, body: bytes, headers: dict):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def signed_headers(url, key_id, secret, body: bytes, headers: dict, region="us-east-1") -> dict:
    """The headers botocore's signer produces for `headers` + `body` (all of them signed)."""
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(Credentials(key_id, secret), "comprehend", region).add_auth(request)
    return dict(request.headers.items())


@pytest.fixture
def key(owner):
    return access_key_create(account=owner.membership.account, user=owner)


def test_a_fully_signed_request_is_accepted(live_server, key):
    url = live_server.url + "/"
    headers = signed_headers(url, key[0].key_id, key[1], b"{}", {"X-Amz-Target": LIST})
    status, answer = _send(url, b"{}", headers)
    assert status == 200
    assert answer == {"DocumentClassifierPropertiesList": []}


def test_the_payload_hash_header_must_match_the_body(live_server, key, owner):
    url = live_server.url + "/"
    signed_body = b"{}"
    headers = signed_headers(
        url,
        key[0].key_id,
        key[1],
        signed_body,
        {
            "X-Amz-Target": CREATE,
            "X-Amz-Content-SHA256": hashlib.sha256(signed_body).hexdigest(),
        },
    )
    # A replayer keeps the signed headers and swaps the body for one that creates a model.
    forged = json.dumps(
        {
            "DocumentClassifierName": "forged",
            "DataAccessRoleArn": f"arn:aws:iam::{owner.membership.account.account_id}:role/r",
            "InputDataConfig": {"S3Uri": "s3://bucket/train.csv"},
            "LanguageCode": "en",
        }
    ).encode()
    status, answer = _send(url, forged, headers)
    assert status == 403
    assert answer["__type"] == "InvalidSignatureException"
    assert "X-Amz-Content-SHA256" in answer["message"]
    assert not CustomModel.objects.filter(name="forged").exists()


def test_unsigned_payload_is_refused(live_server, key):
    url = live_server.url + "/"
    headers = signed_headers(
        url,
        key[0].key_id,
        key[1],
        b"{}",
        {"X-Amz-Target": LIST, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )
    status, answer = _send(url, b"{}", headers)
    assert status == 403
    assert answer["__type"] == "InvalidSignatureException"


def test_a_matching_payload_hash_header_is_accepted(live_server, key):
    url = live_server.url + "/"
    headers = signed_headers(
        url,
        key[0].key_id,
        key[1],
        b"{}",
        {"X-Amz-Target": LIST, "X-Amz-Content-SHA256": hashlib.sha256(b"{}").hexdigest()},
    )
    status, _ = _send(url, b"{}", headers)
    assert status == 200


def test_the_target_must_be_signed(live_server, key, owner):
    url = live_server.url + "/"
    factories.version(owner, name="kept")
    # Signed over host;x-amz-date only; the operation is added afterwards by a replayer.
    headers = signed_headers(url, key[0].key_id, key[1], b"{}", {})
    assert "x-amz-target" not in headers["Authorization"]
    headers["X-Amz-Target"] = LIST
    status, answer = _send(url, b"{}", headers)
    assert status == 403
    assert answer["__type"] == "InvalidSignatureException"
    assert "x-amz-target" in answer["message"]


def test_every_x_amz_header_sent_must_be_signed(live_server, key):
    url = live_server.url + "/"
    headers = signed_headers(url, key[0].key_id, key[1], b"{}", {"X-Amz-Target": LIST})
    headers["X-Amz-Meta-Extra"] = "added later"
    status, answer = _send(url, b"{}", headers)
    assert status == 403
    assert answer["__type"] == "InvalidSignatureException"
    assert "x-amz-meta-extra" in answer["message"]


def test_host_must_be_signed(live_server, key):
    url = live_server.url + "/"
    headers = signed_headers(url, key[0].key_id, key[1], b"{}", {"X-Amz-Target": LIST})
    # Rewrite the Authorization header's SignedHeaders without host (the signature is moot:
    # the refusal must come from the missing header, whatever the signature says).
    headers["Authorization"] = headers["Authorization"].replace(
        "SignedHeaders=host;", "SignedHeaders="
    )
    status, answer = _send(url, b"{}", headers)
    assert status == 403
    assert answer["__type"] == "InvalidSignatureException"
    assert "host" in answer["message"]


def test_a_date_header_can_stand_for_x_amz_date(live_server, key):
    url = live_server.url + "/"
    now = datetime.now(UTC).replace(microsecond=0)
    headers = {
        "Host": urlsplit(url).netloc,
        "Date": format_datetime(now, usegmt=True),
        "X-Amz-Target": LIST,
    }
    request = AWSRequest(method="POST", url=url, data=b"{}", headers=headers)
    request.context["timestamp"] = f"{now:%Y%m%dT%H%M%SZ}"
    signer = SigV4Auth(Credentials(key[0].key_id, key[1]), "comprehend", "us-east-1")
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    names = signer.signed_headers(signer.headers_to_sign(request))
    assert names == "date;host;x-amz-target"
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key[0].key_id}/{now:%Y%m%d}/us-east-1/comprehend/"
        f"aws4_request, SignedHeaders={names}, Signature={signature}"
    )
    status, answer = _send(url, b"{}", headers)
    assert status == 200, answer


@pytest.mark.parametrize("region", ["eu-west-1", "zz-zz-9"])
def test_the_credential_scope_names_this_region(live_server, key, region):
    client = boto3.client(
        "comprehend",
        endpoint_url=live_server.url + "/",
        region_name=region,
        aws_access_key_id=key[0].key_id,
        aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(client.exceptions.ClientError) as excinfo:
        client.list_document_classifiers()
    error = excinfo.value.response["Error"]
    assert error["Code"] == "InvalidSignatureException"
    assert "us-east-1/comprehend/aws4_request" in error["Message"]
    assert region in error["Message"]


@pytest.mark.parametrize(
    "spelling",
    [
        lambda arn: arn.replace(":us-east-1:", ":eu-west-1:"),
        lambda arn: arn.replace("arn:aws:", "arn:aws-cn:"),
    ],
    ids=["other-region", "other-partition"],
)
def test_an_arn_of_another_region_or_partition_is_not_found(api, owner, spelling):
    arn = factories.version(owner, name="news", version_name="v1").arn
    client = api(owner)
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "support"}])
    elsewhere = spelling(arn)
    assert elsewhere != arn
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.tag_resource(ResourceArn=elsewhere, Tags=[{"Key": "team", "Value": "x"}])
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_tags_for_resource(ResourceArn=elsewhere)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_document_classifier(DocumentClassifierArn=elsewhere)
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "support"}
    ]
