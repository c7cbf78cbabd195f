"""The Comprehend-compatible gateway: protocol, SigV4 and the error codes AWS gives."""

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from unittest import mock

import boto3
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests import factories
from webapp.accounts.services.access_keys import access_key_create, access_key_revoke
from webapp.api import operations


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def raw_call(base_url, key_id, secret, target, body=b"{}", headers=None):
    """Send a signed request by hand (for what boto3 itself will not send)."""
    request = AWSRequest(
        method="POST",
        url=base_url,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": target,
            **(headers or {}),
        },
    )
    SigV4Auth(Credentials(key_id, secret), "comprehend", "us-east-1").add_auth(request)
    req = urllib.request.Request(
        base_url, data=body, method="POST", headers=dict(request.headers.items())
    )
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_it_resolves_the_json_protocol(api, owner):
    client = api(owner)
    assert client.meta.service_model.resolved_protocol == "json"


def test_it_lists_empty_classifiers_and_recognizers(api, owner):
    client = api(owner)
    first = client.list_document_classifiers()
    assert first["DocumentClassifierPropertiesList"] == []
    assert "NextToken" not in first
    assert client.list_entity_recognizers()["EntityRecognizerPropertiesList"] == []


def test_it_lists_and_pages_only_the_callers_versions(api, owner, outsider):
    for i in range(3):
        factories.version(owner, name=f"news-{i}")
    factories.version(outsider, name="secret-model")
    client = api(owner)
    page1 = client.list_document_classifiers(MaxResults=2)
    assert len(page1["DocumentClassifierPropertiesList"]) == 2
    page2 = client.list_document_classifiers(MaxResults=2, NextToken=page1["NextToken"])
    names = {
        p["DocumentClassifierArn"].split("/")[1]
        for p in page1["DocumentClassifierPropertiesList"]
        + page2["DocumentClassifierPropertiesList"]
    }
    assert names == {"news-0", "news-1", "news-2"}
    assert "NextToken" not in page2
    props = page1["DocumentClassifierPropertiesList"][0]
    assert isinstance(props["SubmitTime"], datetime)  # epoch seconds on the wire
    assert props["DocumentClassifierArn"].startswith(
        f"arn:aws:comprehend:us-east-1:{owner.membership.account.account_id}:document-classifier/"
    )
    assert (
        api(outsider)
        .list_document_classifiers()["DocumentClassifierPropertiesList"][0]["DocumentClassifierArn"]
        .endswith("document-classifier/secret-model")
    )


def test_it_rejects_a_wrong_secret(api, owner):
    client = api(owner, secret="x" * 40)
    with pytest.raises(ClientError) as excinfo:
        client.list_document_classifiers()
    assert error_code(excinfo) == "InvalidSignatureException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_it_rejects_a_tampered_body(api, owner):
    client = api(owner)

    def tamper(request, **kwargs):
        request.body = request.body.replace(b'"MaxResults": 5', b'"MaxResults": 6')

    client.meta.events.register("before-send.comprehend.ListDocumentClassifiers", tamper)
    with pytest.raises(ClientError) as excinfo:
        client.list_document_classifiers(MaxResults=5)
    assert error_code(excinfo) == "InvalidSignatureException"


def test_it_rejects_a_stale_timestamp(api, owner):
    client = api(owner)
    stale = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=16)
    with mock.patch("botocore.auth.get_current_datetime", return_value=stale):
        with pytest.raises(ClientError) as excinfo:
            client.list_document_classifiers()
    assert error_code(excinfo) == "InvalidSignatureException"
    assert "Signature expired" in excinfo.value.response["Error"]["Message"]


def test_it_accepts_a_timestamp_within_fifteen_minutes(api, owner):
    client = api(owner)
    skewed = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=skewed):
        assert client.list_document_classifiers()["DocumentClassifierPropertiesList"] == []


def test_it_rejects_an_unsigned_request(live_server, db):
    client = boto3.client(
        "comprehend",
        endpoint_url=live_server.url + "/",
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as excinfo:
        client.list_document_classifiers()
    assert error_code(excinfo) == "MissingAuthenticationTokenException"


def test_it_rejects_unknown_and_revoked_keys(api, live_server, owner):
    account = owner.membership.account
    key, secret = access_key_create(account=account, user=owner)
    client = boto3.client(
        "comprehend",
        endpoint_url=live_server.url + "/",
        region_name="us-east-1",
        aws_access_key_id=key.key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert client.list_document_classifiers()["DocumentClassifierPropertiesList"] == []
    access_key_revoke(account=account, user=owner, key_id=key.key_id)
    with pytest.raises(ClientError) as excinfo:
        client.list_document_classifiers()
    assert error_code(excinfo) == "UnrecognizedClientException"

    stranger = boto3.client(
        "comprehend",
        endpoint_url=live_server.url + "/",
        region_name="us-east-1",
        aws_access_key_id="AKIAUNKNOWNKEY000000",
        aws_secret_access_key="s" * 40,
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as excinfo:
        stranger.list_entity_recognizers()
    assert error_code(excinfo) == "UnrecognizedClientException"


def test_it_rejects_a_malformed_arn_naming_the_field(api, owner):
    client = api(owner)
    with pytest.raises(ClientError) as excinfo:
        client.list_tags_for_resource(ResourceArn="arn:aws:comprehend:us-east-1:12345:thing")
    assert error_code(excinfo) == "ValidationException"
    assert "resourceArn" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_tags_for_resource(
            ResourceArn="arn:aws:comprehend:us-east-1:123456789012:document-classifier/nope"
        )


def test_it_enforces_maximums_botocore_does_not_check(api, owner):
    client = api(owner)
    with pytest.raises(ClientError) as excinfo:
        client.list_document_classifiers(MaxResults=501)
    assert error_code(excinfo) == "ValidationException"
    assert "maxResults" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as excinfo:
        client.list_document_classifiers(Filter={"Status": "NOT_A_STATUS"})
    assert error_code(excinfo) == "ValidationException"


def test_it_filters_by_submit_time(api, owner, transactional_db):
    client = api(owner)
    now = datetime.now(UTC).replace(microsecond=0)
    for days, version_name in ((3, "old"), (2, "middle"), (1, "new")):
        version = factories.version(owner, version_name=version_name)
        version.submit_time = now - timedelta(days=days)
        version.save(update_fields=["submit_time"])

    def names(**filter_):
        listed = client.list_document_classifiers(Filter=filter_)
        return [p["VersionName"] for p in listed["DocumentClassifierPropertiesList"]]

    cut = now - timedelta(days=2, hours=12)
    assert names(SubmitTimeAfter=cut) == ["new", "middle"]
    assert names(SubmitTimeBefore=cut) == ["old"]
    assert names(SubmitTimeBefore=now - timedelta(days=3, hours=1)) == []
    summaries = client.list_document_classifier_summaries()["DocumentClassifierSummariesList"]
    assert [(s["DocumentClassifierName"], s["NumberOfVersions"]) for s in summaries] == [
        ("news", 3)
    ]
    with pytest.raises(client.exceptions.InvalidFilterException):
        client.list_document_classifiers(Filter={"SubmitTimeBefore": now, "SubmitTimeAfter": cut})


def test_it_answers_invalid_filter_for_two_filters(api, owner):
    client = api(owner)
    with pytest.raises(client.exceptions.InvalidFilterException):
        client.list_document_classifiers(
            Filter={"Status": "TRAINED", "DocumentClassifierName": "news"}
        )


def test_it_rejects_an_unknown_operation(live_server, owner):
    key, secret = access_key_create(account=owner.membership.account, user=owner)
    status, body = raw_call(
        live_server.url + "/", key.key_id, secret, "Comprehend_20171127.FrobnicateDocuments"
    )
    assert status == 400
    assert body["__type"] == "UnknownOperationException"


def test_it_hides_internal_errors(api, owner, monkeypatch):
    def broken(account, user, body):
        raise RuntimeError("secret detail in a traceback")

    monkeypatch.setitem(operations.OPERATIONS, "ListDocumentClassifiers", broken)
    client = api(owner)
    with pytest.raises(client.exceptions.InternalServerException) as excinfo:
        client.list_document_classifiers()
    message = excinfo.value.response["Error"]["Message"]
    assert "secret detail" not in message and "Traceback" not in message
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_a_malformed_filter_time_is_a_validation_error():
    from webapp.api.protocol import filter_time
    from webapp.core.errors import ServiceError

    with pytest.raises(ServiceError) as excinfo:
        filter_time("last tuesday")
    assert excinfo.value.code == "ValidationException"
    assert "last tuesday" in excinfo.value.message


def test_an_unreachable_database_answers_a_retryable_503(api, owner, monkeypatch):
    from django.db import OperationalError

    def down(account, user, body):
        raise OperationalError("connection to server at 10.0.0.5 failed: Connection refused")

    monkeypatch.setitem(operations.OPERATIONS, "ListDocumentClassifiers", down)
    client = api(owner)
    with pytest.raises(ClientError) as excinfo:
        client.list_document_classifiers()
    error = excinfo.value.response["Error"]
    assert error["Code"] == "ServiceUnavailableException"
    assert "10.0.0.5" not in error["Message"]
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
