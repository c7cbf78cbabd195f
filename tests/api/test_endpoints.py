"""Real-time endpoints through boto3: the whole life of one, limits, tenancy, in-use versions."""

import threading
import time

import pytest
from botocore.exceptions import ClientError

from models_app.models import Endpoint, ModelKind, ModelStatus
from models_app.services import serving
from tests import factories
from tests.conftest import run_queued_jobs
from tests.trained import role, trained


def recognizer(client, user, store, version_name="v1", name="people"):
    return trained(ModelKind.RECOGNIZER, client, user, store, name=name, version_name=version_name)


def classifier(client, user, store, version_name="v1", name="intents"):
    return trained(ModelKind.CLASSIFIER, client, user, store, name=name, version_name=version_name)


def describe(client, arn):
    return client.describe_endpoint(EndpointArn=arn)["EndpointProperties"]


def create_endpoint(client, version, name="ep", units=1, **extra):
    return client.create_endpoint(
        EndpointName=name, ModelArn=version.arn, DesiredInferenceUnits=units, **extra
    )["EndpointArn"]


def error_of(call):
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response["Error"]


class Caller(threading.Thread):
    """Keeps calling an endpoint and records every failure, until stopped."""

    def __init__(self, call):
        super().__init__(daemon=True)
        self.call, self.stop, self.calls, self.errors = call, threading.Event(), 0, []

    def run(self):
        while not self.stop.is_set():
            try:
                self.call()
            except Exception as exc:  # noqa: BLE001 - every failure counts
                self.errors.append(exc)
            self.calls += 1


def test_recognizer_endpoint_life(api, owner, store, transactional_db):
    client = api(owner)
    v1 = recognizer(client, owner, store, "v1")
    v2 = recognizer(client, owner, store, "v2")
    arn = create_endpoint(client, v1, name="people-ep", Tags=[{"Key": "team", "Value": "nlp"}])
    assert arn.endswith(":entity-recognizer-endpoint/people-ep")
    props = describe(client, arn)
    assert props["Status"] == "CREATING" and props["DesiredInferenceUnits"] == 1
    # Not in service yet: calls are refused with Comprehend's error.
    error = error_of(lambda: client.detect_entities(Text="Peter Blackburn", EndpointArn=arn))
    assert error["Code"] == "ResourceUnavailableException" and "CREATING" in error["Message"]

    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "IN_SERVICE", props.get("Message")
    assert props["ModelArn"] == v1.arn and props["CurrentInferenceUnits"] == 1
    text = "EU rejects German call to boycott British lamb . Peter Blackburn in BRUSSELS"
    entities = client.detect_entities(Text=text, EndpointArn=arn)["Entities"]
    assert entities, "the recognizer finds something in its own training sentence"
    for e in entities:
        assert text[e["BeginOffset"] : e["EndOffset"]] == e["Text"]
        assert e["Type"] in ("PERSON", "LOCATION", "ORGANIZATION", "MISC")
        assert 0 <= e["Score"] <= 1
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "nlp"}
    ]

    # Update to v2 while a client keeps calling: no call fails, v2 answers afterwards.
    caller = Caller(lambda: client.detect_entities(Text=text, EndpointArn=arn))
    caller.start()
    time.sleep(0.3)
    answer = client.update_endpoint(
        EndpointArn=arn, DesiredModelArn=v2.arn, DesiredInferenceUnits=2
    )
    assert answer["DesiredModelArn"] == v2.arn
    props = describe(client, arn)
    assert props["Status"] == "UPDATING" and props["ModelArn"] == v1.arn
    time.sleep(0.3)
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "IN_SERVICE" and props["ModelArn"] == v2.arn
    assert props["CurrentInferenceUnits"] == 2
    calls_before = caller.calls
    assert wait_until(lambda: caller.calls > calls_before + 3)
    caller.stop.set()
    caller.join(30)
    assert caller.errors == [] and caller.calls > 5
    assert serving._cache.has(v2)

    # A version an endpoint serves cannot be deleted; the message names the endpoint.
    error = error_of(lambda: client.delete_entity_recognizer(EntityRecognizerArn=v2.arn))
    assert error["Code"] == "ResourceInUseException" and arn in error["Message"]
    client.delete_entity_recognizer(EntityRecognizerArn=v1.arn)  # no longer in use

    client.delete_endpoint(EndpointArn=arn)
    assert error_of(lambda: describe(client, arn))["Code"] == "ResourceNotFoundException"
    error = error_of(lambda: client.detect_entities(Text=text, EndpointArn=arn))
    assert error["Code"] == "ResourceNotFoundException"
    client.delete_entity_recognizer(EntityRecognizerArn=v2.arn)


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_limits_and_errors(api, owner, store, transactional_db):
    client = api(owner)
    v1 = recognizer(client, owner, store)
    arn = create_endpoint(client, v1, name="limits")
    run_queued_jobs()
    too_long = "é" * 5001  # 10,002 bytes in UTF-8, 5,001 characters
    error = error_of(lambda: client.detect_entities(Text=too_long, EndpointArn=arn))
    assert error["Code"] == "TextSizeLimitExceededException" and "10002" in error["Message"]
    client.detect_entities(Text="é" * 5000, EndpointArn=arn)  # exactly 10,000 bytes passes
    error = error_of(lambda: client.detect_entities(Text="Peter", LanguageCode="en"))
    assert error["Code"] == "InvalidRequestException" and "custom" in error["Message"]
    # ClassifyDocument on a recognizer endpoint (named with the classifier ARN type it needs).
    wrong = arn.replace("entity-recognizer-endpoint", "document-classifier-endpoint")
    error = error_of(lambda: client.classify_document(Text="x", EndpointArn=wrong))
    assert error["Code"] == "InvalidRequestException" and "entity recognizer" in error["Message"]
    error = error_of(lambda: create_endpoint(client, v1, name="x" * 41))
    assert error["Code"] == "ValidationException"
    error = error_of(lambda: create_endpoint(client, v1, name="limits"))
    assert error["Code"] == "ResourceInUseException"
    error = error_of(lambda: create_endpoint(client, v1, name="big", units=11))
    assert error["Code"] == "ResourceLimitExceededException"
    training = factories.version(owner, name="busy", kind=ModelKind.RECOGNIZER)
    training.status = ModelStatus.TRAINING
    training.save()
    error = error_of(lambda: create_endpoint(client, training, name="busy"))
    assert error["Code"] == "ResourceUnavailableException"
    # An update while another is under way is refused.
    client.update_endpoint(EndpointArn=arn, DesiredInferenceUnits=3)
    error = error_of(lambda: client.update_endpoint(EndpointArn=arn, DesiredInferenceUnits=4))
    assert error["Code"] == "ResourceInUseException"


def test_wrong_kind_is_refused_by_the_service(owner, db):
    from models_app.services.endpoints import classify_document
    from webapp.core.errors import ServiceError

    version = factories.version(owner, kind=ModelKind.RECOGNIZER, name="people")
    endpoint = Endpoint.objects.create(
        account=owner.membership.account,
        kind=ModelKind.RECOGNIZER,
        name="people",
        status="IN_SERVICE",
        version=version,
        desired_version=version,
    )
    with pytest.raises(ServiceError) as excinfo:
        classify_document(account=owner.membership.account, endpoint_arn=endpoint.arn, text="x")
    assert excinfo.value.code == "InvalidRequestException"


def test_client_request_token_and_listing(api, owner, store, transactional_db):
    client = api(owner)
    v1 = recognizer(client, owner, store)
    first = create_endpoint(client, v1, name="one", ClientRequestToken="tok-1")
    assert create_endpoint(client, v1, name="one", ClientRequestToken="tok-1") == first
    assert Endpoint.objects.count() == 1
    for i in range(3):
        create_endpoint(client, v1, name=f"more-{i}", DataAccessRoleArn=role(owner))
    listed = client.list_endpoints()["EndpointPropertiesList"]
    assert len(listed) == 4 and all(p["Status"] == "CREATING" for p in listed)
    page = client.list_endpoints(MaxResults=3)
    rest = client.list_endpoints(MaxResults=3, NextToken=page["NextToken"])
    names = [
        p["EndpointArn"] for p in page["EndpointPropertiesList"] + rest["EndpointPropertiesList"]
    ]
    assert len(set(names)) == 4 and "NextToken" not in rest
    by_model = client.list_endpoints(Filter={"ModelArn": v1.arn})["EndpointPropertiesList"]
    assert len(by_model) == 0  # none serves it yet: ModelArn is what is in service
    run_queued_jobs()
    by_model = client.list_endpoints(Filter={"ModelArn": v1.arn})["EndpointPropertiesList"]
    assert len(by_model) == 4
    in_service = client.list_endpoints(Filter={"Status": "IN_SERVICE"})["EndpointPropertiesList"]
    assert len(in_service) == 4
    assert client.list_endpoints(Filter={"Status": "FAILED"})["EndpointPropertiesList"] == []


def test_a_model_that_will_not_load_fails_the_endpoint(api, owner, transactional_db, tmp_path):
    client = api(owner)
    broken = factories.version(
        owner,
        kind=ModelKind.RECOGNIZER,
        name="broken",
        artifact_uri=str(tmp_path / "nothing-here"),
        artifact_sha256="0" * 64,
    )
    arn = create_endpoint(client, broken, name="broken")
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "FAILED" and "could not be loaded" in props["Message"]
    error = error_of(lambda: client.detect_entities(Text="x", EndpointArn=arn))
    assert error["Code"] == "ResourceUnavailableException"
    client.delete_endpoint(EndpointArn=arn)


def test_another_account_can_neither_call_nor_see(api, owner, outsider, store, transactional_db):
    client = api(owner)
    v1 = recognizer(client, owner, store)
    arn = create_endpoint(client, v1, name="private")
    run_queued_jobs()
    other = api(outsider)
    for call in (
        lambda: other.describe_endpoint(EndpointArn=arn),
        lambda: other.detect_entities(Text="Peter Blackburn", EndpointArn=arn),
        lambda: other.update_endpoint(EndpointArn=arn, DesiredInferenceUnits=2),
        lambda: other.delete_endpoint(EndpointArn=arn),
        lambda: other.list_tags_for_resource(ResourceArn=arn),
        lambda: other.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: other.create_endpoint(
            EndpointName="mine", ModelArn=v1.arn, DesiredInferenceUnits=1
        ),
    ):
        assert error_of(call)["Code"] == "ResourceNotFoundException"
    assert other.list_endpoints()["EndpointPropertiesList"] == []
    assert describe(client, arn)["Status"] == "IN_SERVICE"


def test_throttling_when_the_operator_sets_an_allowance(
    api, owner, store, settings, transactional_db
):
    client = api(owner)
    v1 = recognizer(client, owner, store)
    arn = create_endpoint(client, v1, name="slow")
    run_queued_jobs()
    text = "Peter Blackburn went to BRUSSELS . " * 5  # 175 characters
    for _ in range(5):
        client.detect_entities(Text=text, EndpointArn=arn)  # unlimited by default
    settings.INFERENCE_CHARS_PER_SECOND_PER_UNIT = 100
    client.detect_entities(Text=text, EndpointArn=arn)  # a full bucket lets one through
    error = error_of(lambda: client.detect_entities(Text=text, EndpointArn=arn))
    assert error["Code"] == "TooManyRequestsException"
    time.sleep(1.8)  # at 100 characters/s the bucket is back above 100 after 1.75 s
    client.detect_entities(Text=text, EndpointArn=arn)


def test_classifier_endpoint_life(api, owner, store, transactional_db):
    client = api(owner)
    v1 = classifier(client, owner, store, "v1")
    v2 = classifier(client, owner, store, "v2")
    arn = create_endpoint(client, v1, name="intents-ep")
    assert arn.endswith(":document-classifier-endpoint/intents-ep")
    run_queued_jobs()
    assert describe(client, arn)["Status"] == "IN_SERVICE"
    answer = client.classify_document(Text="how do i reset my password", EndpointArn=arn)
    classes = answer["Classes"]
    assert "Labels" not in answer and 1 <= len(classes) <= 3
    assert [c["Score"] for c in classes] == sorted((c["Score"] for c in classes), reverse=True)
    assert all(0 <= c["Score"] <= 1 and c["Name"] for c in classes)

    caller = Caller(lambda: client.classify_document(Text="where is my parcel", EndpointArn=arn))
    caller.start()
    time.sleep(0.2)
    client.update_endpoint(EndpointArn=arn, DesiredModelArn=v2.arn)
    assert describe(client, arn)["Status"] == "UPDATING"
    time.sleep(0.2)
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "IN_SERVICE" and props["ModelArn"] == v2.arn
    calls_before = caller.calls
    assert wait_until(lambda: caller.calls > calls_before + 3)
    caller.stop.set()
    caller.join(30)
    assert caller.errors == [] and caller.calls > 5
    assert serving._cache.has(v2)

    error = error_of(lambda: client.delete_document_classifier(DocumentClassifierArn=v2.arn))
    assert error["Code"] == "ResourceInUseException" and "intents-ep" in error["Message"]
    error = error_of(lambda: client.classify_document(Text="x" * 10_001, EndpointArn=arn))
    assert error["Code"] == "TextSizeLimitExceededException"
    client.delete_endpoint(EndpointArn=arn)
    client.delete_document_classifier(DocumentClassifierArn=v2.arn)


def test_an_update_that_fails_keeps_serving_the_old_model(api, owner, store, transactional_db):
    client = api(owner)
    good = recognizer(client, owner, store, "good")
    broken = factories.version(
        owner,
        kind=ModelKind.RECOGNIZER,
        name="people",
        version_name="broken",
        artifact_uri="/nonexistent/model",
        artifact_sha256="0" * 64,
    )
    arn = create_endpoint(client, good, name="steady")
    run_queued_jobs()
    client.update_endpoint(EndpointArn=arn, DesiredModelArn=broken.arn)
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "IN_SERVICE" and props["ModelArn"] == good.arn
    assert props["DesiredModelArn"] == good.arn and "update failed" in props["Message"]
    assert client.detect_entities(Text="Peter Blackburn", EndpointArn=arn)["Entities"] is not None
