"""Entity recognizers through boto3: both training modes, validation, bad inputs, tenancy."""

import csv
import io

import pytest
from botocore.exceptions import ClientError

from models_app.models import ModelVersion
from tests.bad_inputs import TYPE_OF
from tests.conftest import BAD_INPUTS, DATA, run_queued_jobs

TYPES = [{"Type": t} for t in ("PERSON", "LOCATION", "ORGANIZATION", "MISC")]


@pytest.fixture(autouse=True)
def _short_budget(settings):
    # Small slices train in seconds; keep every test run short whatever the default budget.
    settings.RECOGNIZER_TIME_BUDGET_SECONDS = 25


def role(user):
    return f"arn:aws:iam::{user.membership.account.account_id}:role/Comprehend"


def create(client, user, input_config, *, name="people", version=None, **extra):
    kwargs = {
        "RecognizerName": name,
        "DataAccessRoleArn": role(user),
        "InputDataConfig": {"EntityTypes": TYPES, **input_config},
        "LanguageCode": "en",
        **extra,
    }
    if version:
        kwargs["VersionName"] = version
    return client.create_entity_recognizer(**kwargs)["EntityRecognizerArn"]


def describe(client, arn):
    return client.describe_entity_recognizer(EntityRecognizerArn=arn)["EntityRecognizerProperties"]


def head(path, n):
    with open(path, encoding="utf-8") as handle:
        return "".join(handle.readlines()[:n]).encode()


def entity_list_of(lines: int) -> bytes:
    """Text,Type of every entity annotated in the first `lines` WNUT-17 training sentences, in
    the four types of TYPES: the list a user keeps of the names that matter to them."""
    docs = (DATA / "wnut17" / "train.txt").read_text(encoding="utf-8").split("\n")
    with open(DATA / "wnut17" / "train-annotations.csv", encoding="utf-8", newline="") as fh:
        rows = [row for row in list(csv.reader(fh))[1:] if int(row[1]) < lines]
    pairs = {(docs[int(line)][int(b) : int(e)], TYPE_OF[t]) for _, line, b, e, t in rows}
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([("Text", "Type"), *sorted(pairs)])
    return out.getvalue().encode()


def test_annotations_walk_through(api, owner, store, transactional_db, settings):
    settings.RECOGNIZER_TIME_BUDGET_SECONDS = 8  # two versions train; their scores are not judged
    client = api(owner)
    docs = store(owner, "ner/docs/recognizer-docs.txt", BAD_INPUTS / "recognizer-docs.txt")
    ann = store(owner, "ner/ann.csv", BAD_INPUTS / "recognizer-annotations-ok.csv")
    arn = create(
        client, owner, {"Documents": {"S3Uri": docs}, "Annotations": {"S3Uri": ann}}, version="v1"
    )
    assert arn.endswith(":entity-recognizer/people/version/v1")
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "TRAINED", props.get("Message")
    meta = props["RecognizerMetadata"]
    assert meta["NumberOfTrainedDocuments"] + meta["NumberOfTestDocuments"] == 400
    overall = meta["EvaluationMetrics"]
    assert 1 < overall["F1Score"] <= 100  # the model's 0-100 scale for plain-text models
    per_type = {t["Type"]: t for t in meta["EntityTypes"]}
    assert set(per_type) == {"PERSON", "LOCATION", "ORGANIZATION", "MISC"}
    for item in per_type.values():
        assert 0 <= item["EvaluationMetrics"]["F1Score"] <= 1  # per-type scores: 0-1
        assert item["NumberOfTrainMentions"] >= 20
    version = ModelVersion.objects.get(version_name="v1")
    assert overall["F1Score"] == pytest.approx(version.metrics["F1Score"] * 100, abs=1e-3)
    assert len(version.artifact_sha256) == 64

    arn2 = create(
        client, owner, {"Documents": {"S3Uri": docs}, "Annotations": {"S3Uri": ann}}, version="v2"
    )
    arn3 = create(
        client, owner, {"Documents": {"S3Uri": docs}, "Annotations": {"S3Uri": ann}}, version="v3"
    )
    client.stop_training_entity_recognizer(EntityRecognizerArn=arn3)
    run_queued_jobs()
    assert describe(client, arn2)["Status"] == "TRAINED"
    assert describe(client, arn3)["Status"] == "STOPPED"
    summaries = client.list_entity_recognizer_summaries()["EntityRecognizerSummariesList"]
    assert summaries[0]["RecognizerName"] == "people" and summaries[0]["NumberOfVersions"] == 3
    listed = client.list_entity_recognizers(Filter={"RecognizerName": "people"})
    assert len(listed["EntityRecognizerPropertiesList"]) == 3
    with pytest.raises(client.exceptions.ResourceInUseException):
        create(
            client,
            owner,
            {"Documents": {"S3Uri": docs}, "Annotations": {"S3Uri": ann}},
            version="v1",
        )
    client.delete_entity_recognizer(EntityRecognizerArn=arn)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        describe(client, arn)


def test_entity_list_mode(api, owner, store, transactional_db):
    client = api(owner)
    docs = store(owner, "el/train.txt", head(DATA / "wnut17" / "train.txt", 600))
    entity_list = store(owner, "el/entity-list.csv", entity_list_of(600))
    arn = create(
        client,
        owner,
        {"Documents": {"S3Uri": docs}, "EntityList": {"S3Uri": entity_list}},
        name="listed",
    )
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "TRAINED", props.get("Message")
    # Tweets named by a list: 21 F1 (0-100) on the 60 held-out sentences, far above none.
    assert props["RecognizerMetadata"]["EvaluationMetrics"]["F1Score"] > 10
    assert props["InputDataConfig"]["EntityList"]["S3Uri"] == entity_list


def test_the_request_is_checked_before_anything_is_written(api, owner, store):
    client = api(owner)
    docs = store(owner, "ner/docs.txt", BAD_INPUTS / "recognizer-docs.txt")
    ann = store(owner, "ner/ann.csv", BAD_INPUTS / "recognizer-annotations-ok.csv")
    ok = {"Documents": {"S3Uri": docs}, "Annotations": {"S3Uri": ann}}
    cases = [
        ({"LanguageCode": "ja"}, ok, "UnsupportedLanguageException", "ja"),
        (
            {},
            {**ok, "EntityTypes": [{"Type": "person name"}]},
            "InvalidRequestException",
            "upper-case",
        ),
        (
            {},
            {**ok, "EntityTypes": [{"Type": f"T{i}"} for i in range(26)]},
            "InvalidRequestException",
            "25",
        ),
        ({}, {"Documents": {"S3Uri": docs}}, "InvalidRequestException", "EntityList"),
        ({}, {**ok, "EntityList": {"S3Uri": ann}}, "InvalidRequestException", "not both"),
        (
            {},
            {**ok, "Documents": {"S3Uri": docs, "TestS3Uri": docs}},
            "InvalidRequestException",
            "TestS3Uri",
        ),
        (
            {},
            {"Documents": {"S3Uri": "s3://data/missing.txt"}, "Annotations": {"S3Uri": ann}},
            "InvalidRequestException",
            "No objects found",
        ),
    ]
    for override, input_config, code, text in cases:
        kwargs = {
            "RecognizerName": "checked",
            "DataAccessRoleArn": role(owner),
            "InputDataConfig": {"EntityTypes": TYPES, **input_config},
            "LanguageCode": "en",
            **override,
        }
        with pytest.raises(ClientError) as excinfo:
            client.create_entity_recognizer(**kwargs)
        error = excinfo.value.response["Error"]
        assert error["Code"] == code, (override, input_config, error)
        assert text in error["Message"], (override, error)
    assert not ModelVersion.objects.exists()


BAD = {
    "recognizer-offset-past-line.csv": ["row 11"],
    "recognizer-offset-mid-token.csv": ["row 21"],
    "recognizer-overlapping-spans.csv": ["rows 31 and 32", "overlap"],
    "recognizer-line-out-of-range.csv": ["9999"],
    "recognizer-unknown-file.csv": ["not among the documents"],
}


def test_every_bad_annotations_file_gets_its_outcome(api, owner, store, transactional_db):
    client = api(owner)
    docs = store(owner, "bad/docs/recognizer-docs.txt", BAD_INPUTS / "recognizer-docs.txt")
    arns = {}
    for i, name in enumerate(BAD):
        ann = store(owner, f"bad/{name}", BAD_INPUTS / name)
        arns[name] = create(
            client,
            owner,
            {"Documents": {"S3Uri": docs}, "Annotations": {"S3Uri": ann}},
            name=f"bad-{i}",
        )
    run_queued_jobs()
    for name, words in BAD.items():
        props = describe(client, arns[name])
        message = props.get("Message", "")
        if name == "recognizer-offset-mid-token.csv" and props["Status"] != "IN_ERROR":
            assert props["Status"] == "TRAINED_WITH_WARNING", (name, props["Status"])
        else:
            assert props["Status"] == "IN_ERROR", (name, props["Status"], message)
        assert all(w in message for w in words), (name, message)
        assert name in message or "recognizer-docs.txt" in message, (name, message)


def test_bad_type_names_and_entity_lists(api, owner, store, transactional_db):
    client = api(owner)
    docs = store(owner, "bad/docs/recognizer-docs.txt", BAD_INPUTS / "recognizer-docs.txt")
    bad_type = store(owner, "bad/t.csv", BAD_INPUTS / "recognizer-bad-type-name.csv")
    arn = create(
        client,
        owner,
        {"Documents": {"S3Uri": docs}, "Annotations": {"S3Uri": bad_type}},
        name="bad-type",
    )
    no_header = store(owner, "bad/nh.csv", BAD_INPUTS / "recognizer-entity-list-no-header.csv")
    arn2 = create(
        client,
        owner,
        {"Documents": {"S3Uri": docs}, "EntityList": {"S3Uri": no_header}},
        name="no-header",
    )
    many = store(owner, "bad/26.csv", BAD_INPUTS / "recognizer-entity-list-26-types.csv")
    arn3 = create(
        client,
        owner,
        {"Documents": {"S3Uri": docs}, "EntityList": {"S3Uri": many}},
        name="many-types",
    )
    run_queued_jobs()
    first = describe(client, arn)
    assert first["Status"] == "IN_ERROR" and "person name" in first["Message"]
    assert "upper-case" in first["Message"]
    second = describe(client, arn2)
    assert second["Status"] == "IN_ERROR" and "header" in second["Message"]
    third = describe(client, arn3)
    assert third["Status"] == "IN_ERROR" and "25" in third["Message"]


def test_another_account_sees_and_touches_nothing(api, owner, outsider, store):
    client = api(owner)
    docs = store(owner, "ner/docs.txt", BAD_INPUTS / "recognizer-docs.txt")
    ann = store(owner, "ner/ann.csv", BAD_INPUTS / "recognizer-annotations-ok.csv")
    arn = create(client, owner, {"Documents": {"S3Uri": docs}, "Annotations": {"S3Uri": ann}})
    other = api(outsider)
    for call in (
        lambda: other.describe_entity_recognizer(EntityRecognizerArn=arn),
        lambda: other.stop_training_entity_recognizer(EntityRecognizerArn=arn),
        lambda: other.delete_entity_recognizer(EntityRecognizerArn=arn),
        lambda: other.list_tags_for_resource(ResourceArn=arn),
    ):
        with pytest.raises(other.exceptions.ResourceNotFoundException):
            call()
    assert other.list_entity_recognizers()["EntityRecognizerPropertiesList"] == []
    assert other.list_entity_recognizer_summaries()["EntityRecognizerSummariesList"] == []
