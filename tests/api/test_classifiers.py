"""Document classifiers through boto3: the whole walk-through, validation, bad inputs, tenancy."""

import io
import json
import tarfile
from statistics import mean

import pytest
from botocore.exceptions import ClientError

from models_app.models import ModelStatus, ModelVersion
from tests import classifier_cases as cases
from tests.conftest import BAD_INPUTS, DATA, run_queued_jobs
from webapp.core import storage
from webapp.core.background import wait_for


def role(user):
    return f"arn:aws:iam::{user.membership.account.account_id}:role/Comprehend"


def create(client, user, uri, *, name="intents", version=None, **extra):
    kwargs = {
        "DocumentClassifierName": name,
        "DataAccessRoleArn": role(user),
        "InputDataConfig": {"S3Uri": uri, **extra.pop("input", {})},
        "OutputDataConfig": {"S3Uri": "s3://output/classifiers/"},
        "LanguageCode": "en",
        **extra,
    }
    if version:
        kwargs["VersionName"] = version
    return client.create_document_classifier(**kwargs)["DocumentClassifierArn"]


def describe(client, arn):
    return client.describe_document_classifier(DocumentClassifierArn=arn)[
        "DocumentClassifierProperties"
    ]


def slice_csv(path, rows):
    with open(path, encoding="utf-8") as handle:
        return "".join(handle.readlines()[:rows]).encode()


def test_the_whole_walk_through(api, owner, store, transactional_db):
    client = api(owner)
    uri = store(owner, "train/ok.csv", BAD_INPUTS / "classifier-ok-3-labels.csv")
    arn = create(client, owner, uri, version="v1", Tags=[{"Key": "team", "Value": "nlp"}])
    assert arn.endswith(":document-classifier/intents/version/v1")
    assert describe(client, arn)["Status"] == "SUBMITTED"
    run_queued_jobs()

    props = describe(client, arn)
    assert props["Status"] == "TRAINED", props.get("Message")
    assert props["VersionName"] == "v1" and props["Mode"] == "MULTI_CLASS"
    meta = props["ClassifierMetadata"]
    assert meta["NumberOfLabels"] == 3
    assert meta["NumberOfTrainedDocuments"] + meta["NumberOfTestDocuments"] == 300
    assert meta["NumberOfTestDocuments"] == 30  # 10% autosplit
    m = meta["EvaluationMetrics"]
    assert 0.8 <= m["Accuracy"] <= 1.0
    version = ModelVersion.objects.get(model__name="intents", version_name="v1")
    assert m["F1Score"] == pytest.approx(mean(r["f1"] for r in version.per_label_metrics), abs=1e-6)
    assert sum(r["support"] for r in version.per_label_metrics) == 30
    assert props["TrainingStartTime"] <= props["TrainingEndTime"]
    assert len(version.artifact_sha256) == 64 and len(version.data_sha256) == 64

    output = props["OutputDataConfig"]["S3Uri"]
    account_id = owner.membership.account.account_id
    assert output.startswith(f"s3://output/classifiers/{account_id}-CLR-")
    assert output.endswith("/output/output.tar.gz")
    with storage.open_read(account_id, storage.parse_uri(output, field="x")) as handle:
        with tarfile.open(fileobj=io.BytesIO(handle.read())) as tar:
            confusion = json.load(tar.extractfile("confusion_matrix.json"))
    assert sorted(confusion["labels"]) == sorted(r["label"] for r in version.per_label_metrics)

    # A second version of the same model, then the listings.
    arn2 = create(client, owner, uri, version="v2")
    run_queued_jobs()
    assert describe(client, arn2)["Status"] == "TRAINED"
    listed = client.list_document_classifiers(Filter={"DocumentClassifierName": "intents"})
    assert {p["VersionName"] for p in listed["DocumentClassifierPropertiesList"]} == {"v1", "v2"}
    trained = client.list_document_classifiers(Filter={"Status": "TRAINED"})
    assert len(trained["DocumentClassifierPropertiesList"]) == 2
    summaries = client.list_document_classifier_summaries()["DocumentClassifierSummariesList"]
    assert summaries == [
        {
            "DocumentClassifierName": "intents",
            "NumberOfVersions": 2,
            "LatestVersionCreatedAt": summaries[0]["LatestVersionCreatedAt"],
            "LatestVersionName": "v2",
            "LatestVersionStatus": "TRAINED",
        }
    ]
    tags = client.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert tags == [{"Key": "team", "Value": "nlp"}]

    with pytest.raises(client.exceptions.ResourceInUseException):
        create(client, owner, uri, version="v1")

    # Stopping a version that is still queued stops it at once.
    arn3 = create(client, owner, uri, version="v3")
    client.stop_training_document_classifier(DocumentClassifierArn=arn3)
    assert describe(client, arn3)["Status"] == "STOPPED"
    run_queued_jobs()
    assert describe(client, arn3)["Status"] == "STOPPED"

    client.delete_document_classifier(DocumentClassifierArn=arn)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        describe(client, arn)
    assert client.list_tags_for_resource(ResourceArn=arn2)["Tags"] == []


@pytest.mark.worker
def test_stopping_a_training_run(api, owner, store, worker):
    client = api(owner)
    # 7,500 utterances of 150 intents: long enough a training to stop on its way.
    uri = store(owner, "train/clinc.csv", DATA / "clinc150" / "train.csv")
    arn = create(client, owner, uri, name="big")
    assert wait_for(lambda: describe(client, arn)["Status"] == "TRAINING", 60), worker.output()
    client.stop_training_document_classifier(DocumentClassifierArn=arn)
    assert describe(client, arn)["Status"] in ("STOP_REQUESTED", "STOPPED")
    assert wait_for(lambda: describe(client, arn)["Status"] == "STOPPED", 90), worker.output()
    with pytest.raises(client.exceptions.InvalidRequestException):
        client.stop_training_document_classifier(DocumentClassifierArn=arn)


def test_multi_label_training(api, owner, store, transactional_db):
    client = api(owner)
    uri = store(owner, "ml/train.csv", slice_csv(DATA / "goemotions" / "train.csv", 800))
    arn = create(
        client, owner, uri, name="topics", Mode="MULTI_LABEL", input={"LabelDelimiter": "|"}
    )
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] in ("TRAINED", "TRAINED_WITH_WARNING"), props.get("Message")
    m = props["ClassifierMetadata"]["EvaluationMetrics"]
    # 800 GoEmotions comments in six emotions score 0.74 micro F1 and 0.088 Hamming loss.
    assert 0.6 <= m["MicroF1Score"] <= 1.0
    assert 0 <= m["HammingLoss"] <= 0.15
    assert props["InputDataConfig"]["LabelDelimiter"] == "|"


def test_a_given_test_set_is_used_as_is(api, owner, store, transactional_db):
    client = api(owner)
    lines = (BAD_INPUTS / "classifier-ok-3-labels.csv").read_text().splitlines(keepends=True)
    train = "".join(lines[i] for i in range(300) if i % 5)
    test = "".join(lines[i] for i in range(300) if not i % 5)
    arn = create(
        client,
        owner,
        store(owner, "g/train.csv", train.encode()),
        name="given",
        input={"TestS3Uri": store(owner, "g/test.csv", test.encode())},
    )
    run_queued_jobs()
    meta = describe(client, arn)["ClassifierMetadata"]
    assert meta["NumberOfTestDocuments"] == 60 and meta["NumberOfTrainedDocuments"] == 240


def test_the_request_is_checked_before_anything_is_written(api, owner, store):
    client = api(owner)
    uri = store(owner, "train/ok.csv", BAD_INPUTS / "classifier-ok-3-labels.csv")
    cases = [
        ({"LanguageCode": "ja"}, "UnsupportedLanguageException", "ja"),
        (
            {"DataAccessRoleArn": "arn:aws:iam::123:role/x"},
            "ValidationException",
            "dataAccessRoleArn",
        ),
        ({"DocumentClassifierName": "bad_name"}, "ValidationException", "documentClassifierName"),
        ({"VersionName": "v" * 64}, "ValidationException", "versionName"),
        (
            {"InputDataConfig": {"S3Uri": "s3://data/nothing-here.csv"}},
            "InvalidRequestException",
            "No objects found",
        ),
        (
            {"InputDataConfig": {"S3Uri": uri, "LabelDelimiter": "|"}},
            "InvalidRequestException",
            "MULTI_LABEL",
        ),
        (
            {"Mode": "MULTI_LABEL", "InputDataConfig": {"S3Uri": uri, "LabelDelimiter": "&"}},
            "ValidationException",
            "labelDelimiter",
        ),
        ({"InputDataConfig": {"S3Uri": "http://x/y"}}, "ValidationException", "s3Uri"),
    ]
    for override, code, text in cases:
        kwargs = {
            "DocumentClassifierName": "checked",
            "DataAccessRoleArn": role(owner),
            "InputDataConfig": {"S3Uri": uri},
            "LanguageCode": "en",
            **override,
        }
        with pytest.raises(ClientError) as excinfo:
            client.create_document_classifier(**kwargs)
        error = excinfo.value.response["Error"]
        assert error["Code"] == code, (override, error)
        assert text in error["Message"], (override, error)
    assert not ModelVersion.objects.exists()


def test_a_chained_labelling_jobs_manifest_trains_on_every_attribute(
    api, owner, store, transactional_db
):
    client = api(owner)
    topics = {"sports": "match goal team coach", "politics": "vote senate law minister"}
    lines = []
    for i in range(60):
        topic = list(topics)[i % 2]
        tone = "calm" if i % 3 else "angry"
        words = f"{topics[topic]} {'quiet gentle' if tone == 'calm' else 'furious shouting'} {i}"
        lines.append(json.dumps({"source": words, "topic": topic, "tone": [tone]}))
    uri = store(owner, "chained/train.manifest", ("\n".join(lines) + "\n").encode())
    arn = client.create_document_classifier(
        DocumentClassifierName="chained",
        DataAccessRoleArn=role(owner),
        Mode="MULTI_LABEL",
        InputDataConfig={
            "DataFormat": "AUGMENTED_MANIFEST",
            "AugmentedManifests": [{"S3Uri": uri, "AttributeNames": ["topic", "tone"]}],
        },
        LanguageCode="en",
    )["DocumentClassifierArn"]
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "TRAINED", props.get("Message")
    assert props["ClassifierMetadata"]["NumberOfLabels"] == 4  # two from each job
    manifests = props["InputDataConfig"]["AugmentedManifests"]
    assert manifests[0]["AttributeNames"] == ["topic", "tone"]


def test_client_request_token_makes_create_idempotent(api, owner, store):
    client = api(owner)
    uri = store(owner, "train/ok.csv", BAD_INPUTS / "classifier-ok-3-labels.csv")
    first = create(client, owner, uri, ClientRequestToken="token-1")
    again = create(client, owner, uri, ClientRequestToken="token-1")
    assert first == again
    assert ModelVersion.objects.count() == 1


def test_every_bad_input_gets_its_outcome(api, owner, store, transactional_db):
    client = api(owner)
    arns = {}
    for i, name in enumerate({**cases.BAD_FILES, **cases.BAD_MULTI_LABEL}):
        uri = store(owner, f"bad/{name}", BAD_INPUTS / name)
        arns[name] = create(client, owner, uri, name=f"bad-{i}", Mode=cases.bad_file_mode(name))
    run_queued_jobs()
    for name, arn in arns.items():
        props = describe(client, arn)
        cases.check_bad_file_outcome(name, props["Status"], props.get("Message", ""))


@pytest.mark.parametrize("rule_name", list(cases.RULES))
def test_each_training_data_rule_ends_with_its_message(
    api, owner, store, transactional_db, monkeypatch, rule_name
):
    rule = cases.RULES[rule_name]
    cases.lower_limits(monkeypatch, rule)
    client = api(owner)
    config = {}
    if rule.test is not None:
        config["TestS3Uri"] = store(owner, f"{rule_name}/test.csv", rule.test)
    if rule.mode == "MULTI_LABEL":
        config["LabelDelimiter"] = "|"
    arn = create(
        client,
        owner,
        store(owner, f"{rule_name}/train.csv", rule.train),
        name=rule_name,
        Mode=rule.mode,
        input=config,
    )
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == rule.status, props.get("Message")
    for word in rule.words:
        assert word in props["Message"], (word, props["Message"])
    if rule.status == "IN_ERROR":
        assert "ClassifierMetadata" not in props


def test_another_account_sees_and_touches_nothing(api, owner, outsider, store):
    client = api(owner)
    uri = store(owner, "train/ok.csv", BAD_INPUTS / "classifier-ok-3-labels.csv")
    arn = create(client, owner, uri, version="v1")
    other = api(outsider)
    for call in (
        lambda: other.describe_document_classifier(DocumentClassifierArn=arn),
        lambda: other.stop_training_document_classifier(DocumentClassifierArn=arn),
        lambda: other.delete_document_classifier(DocumentClassifierArn=arn),
        lambda: other.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: other.list_tags_for_resource(ResourceArn=arn),
    ):
        with pytest.raises(other.exceptions.ResourceNotFoundException):
            call()
    assert other.list_document_classifiers()["DocumentClassifierPropertiesList"] == []
    assert other.list_document_classifier_summaries()["DocumentClassifierSummariesList"] == []
    # The outsider's own store has no such object either.
    with pytest.raises(other.exceptions.InvalidRequestException):
        create(other, outsider, uri)
    assert ModelVersion.objects.get().status == ModelStatus.SUBMITTED
