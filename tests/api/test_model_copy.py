"""Model copy through boto3 in two accounts: A shares a trained version with a resource policy, B
imports it, and B's copy answers exactly as A's, on its own, without showing anything of A's data."""

import csv
import io
import json
import time

import pytest
from botocore.exceptions import ClientError
from django.conf import settings

from models_app.models import ModelKind, ModelStatus, ModelVersion
from models_app.services import serving
from models_app.services.artifacts import artifact_copy
from tests import factories
from tests.api.test_analysis_jobs import output_records
from tests.conftest import BAD_INPUTS, run_queued_jobs
from tests.trained import role, trained
from webapp.accounts.services.keys import key_create, key_disable

pytestmark = pytest.mark.usefixtures("transactional_db")


def account_id(user) -> str:
    return user.membership.account.account_id


def error_of(call):
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response["Error"]


def allow(version_arn: str, *principals: str) -> str:
    """The policy of Comprehend's model copy walkthrough, for the given principals."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["comprehend:ImportModel"],
                    "Resource": version_arn,
                    "Principal": {"AWS": list(principals)},
                }
            ],
        }
    )


def share(client, version_arn: str, *principals: str) -> str:
    return client.put_resource_policy(
        ResourceArn=version_arn, ResourcePolicy=allow(version_arn, *principals)
    )["PolicyRevisionId"]


def import_and_copy(client, source_arn, **kw) -> str:
    arn = client.import_model(SourceModelArn=source_arn, **kw)["ModelArn"]
    run_queued_jobs()
    return arn


def endpoint(client, model_arn: str, name: str) -> str:
    arn = client.create_endpoint(EndpointName=name, ModelArn=model_arn, DesiredInferenceUnits=1)[
        "EndpointArn"
    ]
    run_queued_jobs()
    props = client.describe_endpoint(EndpointArn=arn)["EndpointProperties"]
    assert props["Status"] == "IN_SERVICE", props.get("Message")
    return arn


def sentences(count=100) -> list[str]:
    lines = (BAD_INPUTS / "recognizer-docs.txt").read_text(encoding="utf-8").splitlines()
    found = [line for line in lines if line.strip()][:count]
    assert len(found) == count
    return found


def utterances(count=100) -> list[str]:
    rows = csv.reader(io.StringIO((BAD_INPUTS / "classifier-ok-3-labels.csv").read_text("utf-8")))
    return [row[1] for row in rows][::3][:count]


def test_a_recognizer_imported_from_another_account_answers_as_its_source(
    api, owner, outsider, store
):
    a, b = api(owner), api(outsider)
    source = trained(ModelKind.RECOGNIZER, a, owner, store, name="people", version_name="v1")
    ModelVersion.objects.filter(pk=source.pk).update(
        data_sha256="d" * 64, output_uri="s3://output/a/output/output.tar.gz"
    )
    share(a, source.arn, f"arn:aws:iam::{account_id(outsider)}:root")
    copy_arn = import_and_copy(
        b, source.arn, ModelName="borrowed", VersionName="v1", DataAccessRoleArn=role(outsider)
    )
    assert copy_arn == (
        f"arn:aws:comprehend:us-east-1:{account_id(outsider)}:entity-recognizer/borrowed/version/v1"
    )
    props = b.describe_entity_recognizer(EntityRecognizerArn=copy_arn)["EntityRecognizerProperties"]
    assert props["Status"] == "TRAINED", props.get("Message")
    assert props["SourceModelArn"] == source.arn and props["LanguageCode"] == "en"
    assert props["InputDataConfig"] == {"EntityTypes": source.input_data_config["EntityTypes"]}
    assert "OutputDataConfig" not in props
    shown = json.dumps(props, default=str)
    assert "s3://" not in shown and "d" * 64 not in shown and source.artifact_sha256 not in shown
    a_props = a.describe_entity_recognizer(EntityRecognizerArn=source.arn)
    assert (
        props["RecognizerMetadata"]["EvaluationMetrics"]
        == a_props["EntityRecognizerProperties"]["RecognizerMetadata"]["EvaluationMetrics"]
    )
    # The source account's log shows who imported its version.
    events = owner.membership.account.audit_events.filter(operation="ImportModel")
    assert [(e.actor_account_id, e.actor_user, e.outcome) for e in events] == [
        (account_id(outsider), outsider.username, "Allowed")
    ]

    a_ep, b_ep = endpoint(a, source.arn, "a-people"), endpoint(b, copy_arn, "b-people")
    texts = sentences()
    answers_a = [a.detect_entities(Text=t, EndpointArn=a_ep)["Entities"] for t in texts]
    answers_b = [b.detect_entities(Text=t, EndpointArn=b_ep)["Entities"] for t in texts]
    assert answers_a == answers_b and any(answers_a)

    # Deleting the source and its policy leaves the copy serving.
    a.delete_resource_policy(ResourceArn=source.arn)
    a.delete_endpoint(EndpointArn=a_ep)
    run_queued_jobs()
    a.delete_entity_recognizer(EntityRecognizerArn=source.arn)
    serving.clear()
    assert b.detect_entities(Text=texts[0], EndpointArn=b_ep)["Entities"] == answers_a[0]


def test_a_classifier_imported_from_another_account_answers_as_its_source(
    api, owner, outsider, store
):
    a, b = api(owner), api(outsider)
    source = trained(ModelKind.CLASSIFIER, a, owner, store, name="intents", version_name="v1")
    share(a, source.arn, account_id(outsider))
    copy_arn = import_and_copy(b, source.arn)
    assert copy_arn.endswith(":document-classifier/intents")  # the source's name, no version
    props = b.describe_document_classifier(DocumentClassifierArn=copy_arn)[
        "DocumentClassifierProperties"
    ]
    assert props["Status"] == "TRAINED", props.get("Message")
    assert props["Mode"] == source.mode and props["SourceModelArn"] == source.arn
    assert props["InputDataConfig"] == {} and "OutputDataConfig" not in props
    assert "s3://" not in json.dumps(props, default=str)

    a_ep, b_ep = endpoint(a, source.arn, "a-intents"), endpoint(b, copy_arn, "b-intents")
    texts = utterances()
    for text in texts:
        assert (
            a.classify_document(Text=text, EndpointArn=a_ep)["Classes"]
            == b.classify_document(Text=text, EndpointArn=b_ep)["Classes"]
        )

    # A classification job on each side gives the same output.
    records = {}
    for user, client, model_arn in ((owner, a, source.arn), (outsider, b, copy_arn)):
        store(user, "docs/lines.txt", ("\n".join(texts) + "\n").encode())
        job_id = client.start_document_classification_job(
            DocumentClassifierArn=model_arn,
            InputDataConfig={"S3Uri": "s3://data/docs/", "InputFormat": "ONE_DOC_PER_LINE"},
            OutputDataConfig={"S3Uri": "s3://output/"},
            DataAccessRoleArn=role(user),
        )["JobId"]
        run_queued_jobs()
        job = client.describe_document_classification_job(JobId=job_id)[
            "DocumentClassificationJobProperties"
        ]
        assert job["JobStatus"] == "COMPLETED", job.get("Message")
        records[user.pk] = output_records(user, job)
    assert records[owner.pk] == records[outsider.pk] and len(records[owner.pk]) == len(texts)


def test_imports_that_are_refused(api, owner, outsider, store):
    a, b = api(owner), api(outsider)
    source = trained(ModelKind.CLASSIFIER, a, owner, store, name="intents", version_name="v1")
    missing = source.arn.replace("/version/v1", "/version/nope")

    no_policy = error_of(lambda: b.import_model(SourceModelArn=source.arn))
    absent = error_of(lambda: b.import_model(SourceModelArn=missing))
    assert no_policy["Code"] == absent["Code"] == "AccessDeniedException"
    assert no_policy["Message"].replace(source.arn, "X") == absent["Message"].replace(missing, "X")

    share(a, source.arn, "111122223333")  # another account's principal
    refused = error_of(lambda: b.import_model(SourceModelArn=source.arn))
    assert refused == no_policy

    share(a, source.arn, f"arn:aws:iam::{account_id(outsider)}:root")
    training = factories.version(
        owner, name="intents", version_name="v2", status=ModelStatus.TRAINING
    )
    share(a, training.arn, f"arn:aws:iam::{account_id(outsider)}:root")
    error = error_of(lambda: b.import_model(SourceModelArn=training.arn))
    assert error["Code"] == "ResourceUnavailableException"

    import_and_copy(b, source.arn, ModelName="taken", VersionName="v1")
    error = error_of(
        lambda: b.import_model(SourceModelArn=source.arn, ModelName="taken", VersionName="v1")
    )
    assert error["Code"] == "ResourceInUseException"

    key = key_create(account=outsider.membership.account, user=outsider)
    key_disable(account=outsider.membership.account, user=outsider, key_id=key.key_id)
    error = error_of(lambda: b.import_model(SourceModelArn=source.arn, ModelKmsKeyId=key.arn))
    assert error["Code"] == "KmsKeyValidationException"
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    error = error_of(lambda: b.import_model(SourceModelArn=source.arn, Tags=many))
    assert error["Code"] in ("TooManyTagsException", "ValidationException")

    # A's own missing version: A is told it does not exist.
    error = error_of(lambda: a.import_model(SourceModelArn=missing))
    assert error["Code"] == "ResourceNotFoundException"


def test_keys_on_both_sides_and_a_source_whose_key_is_disabled(api, owner, outsider, store):
    a, b = api(owner), api(outsider)
    plain = trained(ModelKind.CLASSIFIER, a, owner, store, name="intents", version_name="v1")
    a_key = key_create(account=owner.membership.account, user=owner)
    b_key = key_create(account=outsider.membership.account, user=outsider)
    # An encrypted version of A's: the same model, sealed with A's key.
    source = factories.version(
        owner, name="intents", version_name="sealed", model_key=a_key, model_kms_key_id=a_key.arn
    )
    uri = artifact_copy(plain, source)
    ModelVersion.objects.filter(pk=source.pk).update(
        artifact_uri=uri, artifact_sha256=plain.artifact_sha256
    )
    share(a, source.arn, account_id(outsider))

    copy_arn = import_and_copy(b, source.arn, ModelKmsKeyId=b_key.key_id)
    props = b.describe_document_classifier(DocumentClassifierArn=copy_arn)[
        "DocumentClassifierProperties"
    ]
    assert props["Status"] == "TRAINED", props.get("Message")
    assert props["ModelKmsKeyId"] == b_key.key_id
    b_ep = endpoint(b, copy_arn, "b-sealed")
    text = utterances(1)[0]
    expected = b.classify_document(Text=text, EndpointArn=b_ep)["Classes"]
    serving.clear()
    a_ep = endpoint(a, source.arn, "a-sealed")
    assert a.classify_document(Text=text, EndpointArn=a_ep)["Classes"] == expected

    # A disables its key: A's model stops answering, B's copy (B's key) does not.
    key_disable(account=owner.membership.account, user=owner, key_id=a_key.key_id)
    time.sleep(settings.ENDPOINT_ROUTE_CACHE_SECONDS + 0.1)  # the routes cached before expire
    error = error_of(lambda: a.classify_document(Text=text, EndpointArn=a_ep))
    assert error["Code"] == "ResourceUnavailableException" and a_key.arn in error["Message"]
    assert b.classify_document(Text=text, EndpointArn=b_ep)["Classes"] == expected

    # Importing from a source whose key is disabled ends IN_ERROR, saying so.
    late = import_and_copy(b, source.arn, ModelName="late")
    props = b.describe_document_classifier(DocumentClassifierArn=late)[
        "DocumentClassifierProperties"
    ]
    assert props["Status"] == "IN_ERROR"
    assert "key" in props["Message"] and "is disabled" in props["Message"]
