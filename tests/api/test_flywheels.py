"""Flywheels and datasets through boto3: the data lake a flywheel starts with, datasets ingested
into it, every refusal of Create/Update/DeleteFlywheel and CreateDataset, tags, List filters, and
an outsider who sees none of it."""

import csv
import io
import re
import time

import pytest
from botocore.exceptions import ClientError

from flywheel_app.models import Dataset, Flywheel, FlywheelIteration
from models_app.models import CustomModel, Endpoint, ModelKind, ModelStatus, ModelVersion
from tests import factories
from tests.conftest import BAD_INPUTS, DATA, run_queued_jobs
from tests.trained import role, trained
from webapp.accounts.services.keys import key_create
from webapp.core import storage
from webapp.core.background import wait_for

pytestmark = pytest.mark.usefixtures("transactional_db")

LAKE = "s3://lake/flywheels"
LABELS = ["accept_reservations", "account_blocked", "alarm"]
TYPES = ["LOCATION", "MISC", "ORGANIZATION", "PERSON"]


def account_id(user) -> str:
    return user.membership.account.account_id


def error_of(call) -> dict:
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response["Error"]


def files_under(user, uri: str) -> list[str]:
    base = storage.parse_uri(uri, field="S3Uri")
    return [
        item.key[len(base.key) :].lstrip("/")
        for item, _ in storage.list_files(account_id(user), base)
    ]


def read(user, uri: str) -> str:
    with storage.open_read(account_id(user), storage.parse_uri(uri, field="S3Uri")) as fh:
        return fh.read().decode()


def classifier_v1(client, user, store) -> ModelVersion:
    """A trained classifier version (trained for real once per run) and its training data."""
    version = trained(ModelKind.CLASSIFIER, client, user, store, name="intents", version_name="v1")
    uri = store(user, "train/ok.csv", BAD_INPUTS / "classifier-ok-3-labels.csv")
    # A version reused from an earlier test's training names no data of this account yet.
    ModelVersion.objects.filter(pk=version.pk).update(
        input_data_config={"DataFormat": "COMPREHEND_CSV", "S3Uri": uri}
    )
    version.refresh_from_db()
    return version


def recognizer_v1(user, store, *, name="people", version_name="v1") -> ModelVersion:
    """A trained recognizer version's row and its data (creating a flywheel reads only data)."""
    docs = store(user, "ner/docs/recognizer-docs.txt", BAD_INPUTS / "recognizer-docs.txt")
    ann = store(user, "ner/ann.csv", BAD_INPUTS / "recognizer-annotations-ok.csv")
    return factories.version(
        user,
        name=name,
        version_name=version_name,
        kind=ModelKind.RECOGNIZER,
        language_code="en",
        input_data_config={
            "EntityTypes": [{"Type": t} for t in TYPES],
            "Documents": {"S3Uri": docs},
            "Annotations": {"S3Uri": ann},
        },
    )


def create(client, user, name, **kw) -> str:
    kw.setdefault("DataLakeS3Uri", LAKE)
    return client.create_flywheel(FlywheelName=name, DataAccessRoleArn=role(user), **kw)[
        "FlywheelArn"
    ]


def describe(client, arn) -> dict:
    return client.describe_flywheel(FlywheelArn=arn)["FlywheelProperties"]


def active_flywheel(client, user, name, version) -> str:
    arn = create(client, user, name, ActiveModelArn=version.arn)
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "ACTIVE", props.get("Message")
    return arn


def dataset(client, flywheel_arn, name, config, **kw) -> dict:
    arn = client.create_dataset(
        FlywheelArn=flywheel_arn, DatasetName=name, InputDataConfig=config, **kw
    )["DatasetArn"]
    run_queued_jobs()
    return client.describe_dataset(DatasetArn=arn)["DatasetProperties"]


def csv_config(uri: str) -> dict:
    return {"DataFormat": "COMPREHEND_CSV", "DocumentClassifierInputDataConfig": {"S3Uri": uri}}


def test_it_creates_a_flywheel_from_a_trained_version(api, owner, outsider, store):
    client = api(owner)
    version = classifier_v1(client, owner, store)
    answer = client.create_flywheel(
        FlywheelName="intents-fw",
        ActiveModelArn=version.arn,
        DataAccessRoleArn=role(owner),
        DataLakeS3Uri=LAKE + "/",
        Tags=[{"Key": "team", "Value": "nlp"}],
    )
    arn = answer["FlywheelArn"]
    assert arn == f"arn:aws:comprehend:us-east-1:{account_id(owner)}:flywheel/intents-fw"
    assert answer["ActiveModelArn"] == version.arn
    assert describe(client, arn)["Status"] == "CREATING"
    run_queued_jobs()

    props = describe(client, arn)
    assert props["Status"] == "ACTIVE", props.get("Message")
    assert "Message" not in props
    assert props["ActiveModelArn"] == version.arn
    assert props["ModelType"] == "DOCUMENT_CLASSIFIER"
    assert props["DataAccessRoleArn"] == role(owner)
    assert props["TaskConfig"] == {
        "LanguageCode": "en",
        "DocumentClassificationConfig": {"Mode": "MULTI_CLASS", "Labels": LABELS},
    }
    lake = props["DataLakeS3Uri"]
    assert re.fullmatch(r"s3://lake/flywheels/intents-fw/schemaVersion=1/\d{8}T\d{6}Z/", lake), lake
    assert lake.endswith(props["CreationTime"].strftime("%Y%m%dT%H%M%SZ/"))
    assert sorted(files_under(owner, lake)) == [
        "model-datasets/intents_v1/model-stats/metrics.json",
        "model-datasets/intents_v1/test/documents.csv",
        "model-datasets/intents_v1/training/documents.csv",
    ]
    # The seeded autosplit is recomputed: test/ holds the 30 documents the version was scored on.
    base = lake + "model-datasets/intents_v1/"
    assert len(read(owner, base + "test/documents.csv").splitlines()) == 30
    assert len(read(owner, base + "training/documents.csv").splitlines()) == 270

    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "nlp"}
    ]
    summaries = client.list_flywheels()["FlywheelSummaryList"]
    assert [s["FlywheelArn"] for s in summaries] == [arn]
    assert summaries[0]["Status"] == "ACTIVE" and summaries[0]["DataLakeS3Uri"] == lake

    # The outsider sees no flywheel, and cannot reach this one by its ARN.
    other = api(outsider)
    assert other.list_flywheels()["FlywheelSummaryList"] == []
    for call in (
        lambda: other.describe_flywheel(FlywheelArn=arn),
        lambda: other.list_tags_for_resource(ResourceArn=arn),
        lambda: other.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: other.delete_flywheel(FlywheelArn=arn),
        lambda: other.update_flywheel(FlywheelArn=arn, DataAccessRoleArn=role(outsider)),
        lambda: other.list_datasets(FlywheelArn=arn),
    ):
        assert error_of(call)["Code"] == "ResourceNotFoundException"


def test_a_flywheel_whose_version_data_changed_or_went_missing(api, owner, store):
    client = api(owner)
    version = classifier_v1(client, owner, store)
    ModelVersion.objects.filter(pk=version.pk).update(data_sha256="0" * 64)
    arn = create(client, owner, "changed", ActiveModelArn=version.arn)
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "ACTIVE"
    assert "changed since the version trained" in props["Message"]

    gone = factories.version(
        owner,
        name="gone",
        input_data_config={"DataFormat": "COMPREHEND_CSV", "S3Uri": "s3://data/nothing/here.csv"},
    )
    arn = create(client, owner, "missing", ActiveModelArn=gone.arn)
    run_queued_jobs()
    props = describe(client, arn)
    assert props["Status"] == "FAILED"
    assert "No objects found at s3://data/nothing/here.csv" in props["Message"]
    assert (
        client.list_flywheels(Filter={"Status": "FAILED"})["FlywheelSummaryList"][0]["FlywheelArn"]
        == arn
    )
    assert len(client.list_flywheels(Filter={"Status": "ACTIVE"})["FlywheelSummaryList"]) == 1
    err = error_of(
        lambda: client.list_flywheels(
            Filter={"Status": "ACTIVE", "CreationTimeAfter": time.time() - 3600}
        )
    )
    assert err["Code"] == "InvalidFilterException"
    assert (
        client.list_flywheels(Filter={"CreationTimeAfter": time.time() + 3600})[
            "FlywheelSummaryList"
        ]
        == []
    )
    first = client.list_flywheels(MaxResults=1)
    assert len(first["FlywheelSummaryList"]) == 1
    rest = client.list_flywheels(MaxResults=1, NextToken=first["NextToken"])
    assert (
        rest["FlywheelSummaryList"][0]["FlywheelArn"]
        != first["FlywheelSummaryList"][0]["FlywheelArn"]
    )


def test_a_task_config_flywheel_creates_its_model(api, owner, store):
    client = api(owner)
    answer = client.create_flywheel(
        FlywheelName="fresh-ner",
        ModelType="ENTITY_RECOGNIZER",
        TaskConfig={
            "LanguageCode": "en",
            "EntityRecognitionConfig": {"EntityTypes": [{"Type": t} for t in TYPES]},
        },
        DataAccessRoleArn=role(owner),
        DataLakeS3Uri=LAKE,
    )
    assert "ActiveModelArn" not in answer
    run_queued_jobs()
    props = describe(client, answer["FlywheelArn"])
    assert props["Status"] == "ACTIVE"
    assert "ActiveModelArn" not in props
    assert props["ModelType"] == "ENTITY_RECOGNIZER"
    assert props["TaskConfig"]["EntityRecognitionConfig"]["EntityTypes"] == [
        {"Type": t} for t in TYPES
    ]
    # The model takes the flywheel's name and has no version until an iteration trains one.
    model = CustomModel.objects.get(name="fresh-ner", kind=ModelKind.RECOGNIZER)
    assert not model.versions.exists()
    assert Flywheel.objects.get(name="fresh-ner").model == model

    classifier = client.create_flywheel(
        FlywheelName="fresh-intents",
        ModelType="DOCUMENT_CLASSIFIER",
        TaskConfig={
            "LanguageCode": "en",
            "DocumentClassificationConfig": {"Mode": "MULTI_CLASS", "Labels": LABELS},
        },
        DataAccessRoleArn=role(owner),
        DataLakeS3Uri=LAKE,
    )["FlywheelArn"]
    run_queued_jobs()
    assert describe(client, classifier)["TaskConfig"]["DocumentClassificationConfig"] == {
        "Mode": "MULTI_CLASS",
        "Labels": LABELS,
    }
    # A model of the flywheel's name is taken: the new model cannot take it.
    factories.version(owner, name="taken")
    err = error_of(
        lambda: client.create_flywheel(
            FlywheelName="taken",
            ModelType="DOCUMENT_CLASSIFIER",
            TaskConfig={
                "LanguageCode": "en",
                "DocumentClassificationConfig": {"Mode": "MULTI_CLASS"},
            },
            DataAccessRoleArn=role(owner),
            DataLakeS3Uri=LAKE,
        )
    )
    assert err["Code"] == "ResourceInUseException"
    assert not Flywheel.objects.filter(name="taken").exists()


def test_create_flywheel_refusals(api, owner, outsider, store):
    client = api(owner)
    version = classifier_v1(client, owner, store)
    active_flywheel(client, owner, "used-name", version)
    key = key_create(account=owner.membership.account, user=owner, description="")
    ner = {"LanguageCode": "en", "EntityRecognitionConfig": {"EntityTypes": [{"Type": "PERSON"}]}}
    cls = {"LanguageCode": "en", "DocumentClassificationConfig": {"Mode": "MULTI_CLASS"}}
    imported = factories.version(
        owner,
        name="copied",
        source_model_arn=f"arn:aws:comprehend:us-east-1:{account_id(outsider)}:document-classifier/x",
        input_data_config={"DataFormat": "COMPREHEND_CSV"},
    )
    untrained = factories.version(
        owner, name="busy", status=ModelStatus.TRAINING, input_data_config=version.input_data_config
    )
    theirs = factories.version(outsider, name="theirs", input_data_config={"S3Uri": "s3://data/x"})
    cases = [
        (
            "both",
            dict(ActiveModelArn=version.arn, ModelType="DOCUMENT_CLASSIFIER", TaskConfig=cls),
            "InvalidRequestException",
        ),
        ("neither", {}, "InvalidRequestException"),
        ("type-only", dict(ModelType="DOCUMENT_CLASSIFIER"), "InvalidRequestException"),
        (
            "misfit",
            dict(ModelType="DOCUMENT_CLASSIFIER", TaskConfig=ner),
            "InvalidRequestException",
        ),
        ("misfit2", dict(ModelType="ENTITY_RECOGNIZER", TaskConfig=cls), "InvalidRequestException"),
        (
            "vpc",
            dict(
                ActiveModelArn=version.arn,
                DataSecurityConfig={
                    "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
                },
            ),
            "InvalidRequestException",
        ),
        ("imported", dict(ActiveModelArn=imported.arn), "InvalidRequestException"),
        (
            "japanese",
            dict(ModelType="DOCUMENT_CLASSIFIER", TaskConfig={**cls, "LanguageCode": "ja"}),
            "UnsupportedLanguageException",
        ),
        ("used-name", dict(ActiveModelArn=version.arn), "ResourceInUseException"),
        (
            "unknown",
            dict(ActiveModelArn=version.arn.replace("intents", "nothing")),
            "ResourceNotFoundException",
        ),
        ("theirs", dict(ActiveModelArn=theirs.arn), "ResourceNotFoundException"),
        ("untrained", dict(ActiveModelArn=untrained.arn), "ResourceUnavailableException"),
        (
            "no-key",
            dict(
                ActiveModelArn=version.arn,
                DataSecurityConfig={"ModelKmsKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"},
            ),
            "KmsKeyValidationException",
        ),
        (
            "lake-key",
            dict(ActiveModelArn=version.arn, DataSecurityConfig={"DataLakeKmsKeyId": "alias/mine"}),
            "KmsKeyValidationException",
        ),
        (
            "long-lake",
            dict(ActiveModelArn=version.arn, DataLakeS3Uri="s3://lake/" + "a" * 520),
            "ValidationException",
        ),
    ]
    for name, kw, code in cases:
        err = error_of(lambda name=name, kw=kw: create(client, owner, name, **kw))
        assert err["Code"] == code, (name, err)
        assert "/work" not in err["Message"] and "Traceback" not in err["Message"]
    assert set(Flywheel.objects.values_list("name", flat=True)) == {"used-name"}
    assert not CustomModel.objects.filter(name__in=["misfit", "japanese"]).exists()

    # With an enabled key of the account, DataSecurityConfig is recorded as given.
    arn = create(
        client,
        owner,
        "keyed",
        ActiveModelArn=version.arn,
        DataSecurityConfig={"ModelKmsKeyId": key.key_id, "DataLakeKmsKeyId": key.arn},
    )
    assert describe(client, arn)["DataSecurityConfig"] == {
        "ModelKmsKeyId": key.key_id,
        "DataLakeKmsKeyId": key.arn,
    }
    # A retried request (same token) gets the same flywheel.
    again = [
        create(client, owner, "retried", ActiveModelArn=version.arn, ClientRequestToken="tok-1")
        for _ in range(2)
    ]
    assert again[0] == again[1]


def test_update_flywheel(api, owner, outsider, store):
    client = api(owner)
    version = classifier_v1(client, owner, store)
    arn = active_flywheel(client, owner, "upd", version)
    per_label = [{"label": label} for label in LABELS]
    other_model = factories.version(owner, name="other-intents", per_label_metrics=per_label)
    props = client.update_flywheel(FlywheelArn=arn, ActiveModelArn=other_model.arn)[
        "FlywheelProperties"
    ]
    assert props["ActiveModelArn"] == other_model.arn
    assert describe(client, arn)["ActiveModelArn"] == other_model.arn
    assert Flywheel.objects.get(name="upd").model.name == "other-intents"

    key = key_create(account=owner.membership.account, user=owner, description="")
    props = client.update_flywheel(
        FlywheelArn=arn,
        DataAccessRoleArn=f"arn:aws:iam::{account_id(owner)}:role/Other",
        DataSecurityConfig={"VolumeKmsKeyId": key.key_id},
    )["FlywheelProperties"]
    assert props["DataAccessRoleArn"].endswith("role/Other")
    assert props["DataSecurityConfig"] == {"VolumeKmsKeyId": key.key_id}

    training = factories.version(owner, name="t", status=ModelStatus.TRAINING)
    spanish = factories.version(owner, name="es", language_code="es", per_label_metrics=per_label)
    labels = factories.version(owner, name="lb", per_label_metrics=[{"label": "x"}, {"label": "y"}])
    multi = factories.version(owner, name="ml", mode="MULTI_LABEL", per_label_metrics=per_label)
    ner = recognizer_v1(owner, store)
    theirs = factories.version(outsider, name="theirs")
    for target, code in (
        (training, "InvalidRequestException"),
        (spanish, "InvalidRequestException"),
        (labels, "InvalidRequestException"),
        (multi, "InvalidRequestException"),
        (ner, "InvalidRequestException"),
        (theirs, "ResourceNotFoundException"),
    ):
        err = error_of(
            lambda t=target: client.update_flywheel(FlywheelArn=arn, ActiveModelArn=t.arn)
        )
        assert err["Code"] == code, (target.model.name, err)
    err = error_of(
        lambda: client.update_flywheel(
            FlywheelArn=arn, DataSecurityConfig={"ModelKmsKeyId": "alias/none"}
        )
    )
    assert err["Code"] == "KmsKeyValidationException"
    assert describe(client, arn)["ActiveModelArn"] == other_model.arn

    Flywheel.objects.filter(pk=Flywheel.objects.get(name="upd").pk).update(status="FAILED")
    err = error_of(lambda: client.update_flywheel(FlywheelArn=arn, ActiveModelArn=version.arn))
    assert err["Code"] == "InvalidRequestException"


def test_delete_flywheel(api, owner, store):
    client = api(owner)
    version = classifier_v1(client, owner, store)
    arn = active_flywheel(client, owner, "doomed", version)
    flywheel = Flywheel.objects.get(name="doomed")
    lake = describe(client, arn)["DataLakeS3Uri"]
    uri = store(owner, "new/rows.csv", BAD_INPUTS / "classifier-ok-3-labels.csv")

    # A dataset being created holds it.
    ds_arn = client.create_dataset(
        FlywheelArn=arn,
        DatasetName="rows",
        InputDataConfig=csv_config(uri),
        Tags=[{"Key": "k", "Value": "v"}],
    )["DatasetArn"]
    err = error_of(lambda: client.delete_flywheel(FlywheelArn=arn))
    assert err["Code"] == "ResourceInUseException" and "rows" in err["Message"]
    run_queued_jobs()

    # So does an endpoint that follows it, named.
    endpoint = Endpoint.objects.create(
        account=flywheel.account,
        kind=ModelKind.CLASSIFIER,
        name="follower",
        status="IN_SERVICE",
        version=version,
        flywheel_arn=arn,
    )
    err = error_of(lambda: client.delete_flywheel(FlywheelArn=arn))
    assert err["Code"] == "ResourceInUseException" and "follower" in err["Message"]
    endpoint.delete()

    # And a running iteration.
    iteration = FlywheelIteration.objects.create(
        flywheel=flywheel, iteration_id="20240101T000000Z", evaluated_version=version
    )
    err = error_of(lambda: client.delete_flywheel(FlywheelArn=arn))
    assert err["Code"] == "ResourceInUseException" and "iteration" in err["Message"]
    FlywheelIteration.objects.filter(pk=iteration.pk).update(status="FAILED")

    client.delete_flywheel(FlywheelArn=arn)
    assert error_of(lambda: describe(client, arn))["Code"] == "ResourceNotFoundException"
    assert error_of(lambda: client.describe_dataset(DatasetArn=ds_arn))["Code"] == (
        "ResourceNotFoundException"
    )
    assert error_of(lambda: client.list_tags_for_resource(ResourceArn=ds_arn))["Code"] == (
        "ResourceNotFoundException"
    )
    assert not Dataset.objects.exists()
    # The data lake and the versions stay.
    assert ModelVersion.objects.filter(pk=version.pk).exists()
    assert any(f.startswith("datasets/rows/") for f in files_under(owner, lake))
    assert error_of(lambda: client.delete_flywheel(FlywheelArn=arn))["Code"] == (
        "ResourceNotFoundException"
    )


def test_a_train_dataset_is_ingested(api, owner, outsider, store):
    client = api(owner)
    version = classifier_v1(client, owner, store)
    arn = active_flywheel(client, owner, "ingest", version)
    uri = store(owner, "clinc/test.csv", DATA / "clinc150" / "test.csv")
    props = dataset(
        client,
        arn,
        "clinc-test",
        csv_config(uri),
        Description="New rows",
        Tags=[{"Key": "source", "Value": "clinc"}],
    )
    assert props["Status"] == "COMPLETED", props.get("Message")
    assert props["DatasetType"] == "TRAIN" and props["Description"] == "New rows"
    # 30 of the 1,500 rows have one of the flywheel's three labels; the others are counted.
    assert props["NumberOfDocuments"] == 30
    assert props["Message"].startswith("Ignored 1,470 document labels")
    assert "and 137 more" in props["Message"]
    lake = describe(client, arn)["DataLakeS3Uri"]
    stamp = props["CreationTime"].strftime("%Y%m%dT%H%M%SZ")
    assert props["DatasetS3Uri"] == f"{lake}datasets/clinc-test/{stamp}/"
    assert sorted(files_under(owner, props["DatasetS3Uri"])) == [
        "normalized/documents.csv",
        "original/documents/test.csv",
    ]
    rows = read(owner, props["DatasetS3Uri"] + "normalized/documents.csv").splitlines()
    assert len(rows) == 30 and {r.split(",", 1)[0] for r in rows} == set(LABELS)
    assert not any(f.startswith("staging/") for f in files_under(owner, lake))
    # The pools hold the documents apart from their labels, line for line.
    assert sorted(f for f in files_under(owner, lake) if "-pool/" in f) == [
        f"annotations-pool/clinc-test/{stamp}/labels.csv",
        f"document-pool/clinc-test/{stamp}/documents.txt",
    ]
    pooled = read(owner, f"{lake}document-pool/clinc-test/{stamp}/documents.txt").splitlines()
    labelled = read(owner, f"{lake}annotations-pool/clinc-test/{stamp}/labels.csv").splitlines()
    assert labelled[0] == "File,Line,Labels" and len(labelled) == 31 and len(pooled) == 30
    normal = list(csv.reader(io.StringIO("\n".join(rows))))
    assert pooled == [text for _label, text in normal]
    assert labelled[1:] == [f"documents.txt,{i},{label}" for i, (label, _) in enumerate(normal)]

    test_props = dataset(client, arn, "held-out", csv_config(uri), DatasetType="TEST")
    assert test_props["DatasetType"] == "TEST" and test_props["Status"] == "COMPLETED"

    ds_arn = props["DatasetArn"]
    assert ds_arn == f"{arn}/dataset/clinc-test"
    assert client.list_tags_for_resource(ResourceArn=ds_arn)["Tags"] == [
        {"Key": "source", "Value": "clinc"}
    ]
    client.tag_resource(ResourceArn=ds_arn, Tags=[{"Key": "more", "Value": "x"}])
    client.untag_resource(ResourceArn=ds_arn, TagKeys=["source"])
    assert client.list_tags_for_resource(ResourceArn=ds_arn)["Tags"] == [
        {"Key": "more", "Value": "x"}
    ]

    def names(**kw):
        return [d["DatasetName"] for d in client.list_datasets(**kw)["DatasetPropertiesList"]]

    assert names() == ["held-out", "clinc-test"]
    assert names(FlywheelArn=arn) == ["held-out", "clinc-test"]
    assert names(FlywheelArn=arn, Filter={"DatasetType": "TEST"}) == ["held-out"]
    assert names(Filter={"Status": "COMPLETED", "DatasetType": "TRAIN"}) == ["clinc-test"]
    assert names(Filter={"Status": "FAILED"}) == []
    assert names(Filter={"CreationTimeBefore": props["CreationTime"].timestamp() + 0.0005}) == [
        "clinc-test"
    ]
    assert names(Filter={"CreationTimeAfter": time.time() + 60}) == []

    other = api(outsider)
    assert other.list_datasets()["DatasetPropertiesList"] == []
    for call in (
        lambda: other.describe_dataset(DatasetArn=ds_arn),
        lambda: other.list_tags_for_resource(ResourceArn=ds_arn),
        lambda: other.create_dataset(
            FlywheelArn=arn, DatasetName="mine", InputDataConfig=csv_config("s3://data/x.csv")
        ),
    ):
        assert error_of(call)["Code"] == "ResourceNotFoundException"


def test_recognizer_datasets_are_normalised(api, owner, store):
    client = api(owner)
    arn = active_flywheel(client, owner, "ner", recognizer_v1(owner, store))
    lake = describe(client, arn)["DataLakeS3Uri"]
    assert sorted(files_under(owner, lake + "model-datasets/people_v1/")) == [
        "model-stats/metrics.json",
        "test/annotations.csv",
        "test/documents.txt",
        "training/annotations.csv",
        "training/documents.txt",
    ]
    docs = store(owner, "more/docs/recognizer-docs.txt", BAD_INPUTS / "recognizer-docs.txt")
    ann = store(owner, "more/ann.csv", BAD_INPUTS / "recognizer-annotations-ok.csv")
    props = dataset(
        client,
        arn,
        "annotated",
        {
            "DataFormat": "COMPREHEND_CSV",
            "EntityRecognizerInputDataConfig": {
                "Documents": {"S3Uri": docs},
                "Annotations": {"S3Uri": ann},
            },
        },
    )
    assert props["Status"] == "COMPLETED", props.get("Message")
    assert props["NumberOfDocuments"] == 400
    assert sorted(files_under(owner, props["DatasetS3Uri"])) == [
        "normalized/annotations.csv",
        "normalized/documents.txt",
        "original/annotations/ann.csv",
        "original/documents/recognizer-docs.txt",
    ]
    normal = read(owner, props["DatasetS3Uri"] + "normalized/annotations.csv").splitlines()
    given = (BAD_INPUTS / "recognizer-annotations-ok.csv").read_text().splitlines()
    assert normal[0] == "File,Line,Begin Offset,End Offset,Type"
    assert len(normal) == len(given)
    # The pools: the documents in document-pool/, their annotations in annotations-pool/.
    stamp = props["CreationTime"].strftime("%Y%m%dT%H%M%SZ")
    assert sorted(f for f in files_under(owner, lake) if "-pool/" in f) == [
        f"annotations-pool/annotated/{stamp}/annotations.csv",
        f"document-pool/annotated/{stamp}/documents.txt",
    ]
    pooled = read(owner, f"{lake}annotations-pool/annotated/{stamp}/annotations.csv")
    assert pooled.splitlines() == normal
    assert read(owner, f"{lake}document-pool/annotated/{stamp}/documents.txt") == read(
        owner, props["DatasetS3Uri"] + "normalized/documents.txt"
    )

    # An entity list is annotated at ingest; a type the flywheel lacks is dropped and counted.
    listed = store(owner, "more/list.csv", b"Text,Type\nLondon,LOCATION\nPepsi,DRINK\n")
    props = dataset(
        client,
        arn,
        "listed",
        {
            "EntityRecognizerInputDataConfig": {
                "Documents": {"S3Uri": docs},
                "EntityList": {"S3Uri": listed},
            },
        },
    )
    assert props["Status"] == "COMPLETED", props.get("Message")
    assert "DRINK (1)" in props["Message"]
    assert props["NumberOfDocuments"] == 400


def test_create_dataset_refusals(api, owner, store):
    client = api(owner)
    version = classifier_v1(client, owner, store)
    arn = active_flywheel(client, owner, "picky", version)
    uri = store(owner, "new/rows.csv", BAD_INPUTS / "classifier-ok-3-labels.csv")
    dataset(client, arn, "first", csv_config(uri))
    failed = create(
        client,
        owner,
        "broken",
        ActiveModelArn=factories.version(
            owner, name="nodata", input_data_config={"S3Uri": "s3://data/none.csv"}
        ).arn,
    )
    run_queued_jobs()
    assert describe(client, failed)["Status"] == "FAILED"
    cases = [
        (
            "other-type",
            {"EntityRecognizerInputDataConfig": {"Documents": {"S3Uri": uri}}},
            "InvalidRequestException",
            arn,
        ),
        ("nothing", csv_config("s3://data/no/such/file.csv"), "InvalidRequestException", arn),
        (
            "manifest",
            {
                "DataFormat": "AUGMENTED_MANIFEST",
                "AugmentedManifests": [{"S3Uri": uri, "AttributeNames": ["label"]}],
            },
            "InvalidRequestException",
            arn,
        ),
        (
            "semi",
            {
                "DataFormat": "AUGMENTED_MANIFEST",
                "AugmentedManifests": [
                    {
                        "S3Uri": uri,
                        "AttributeNames": ["label"],
                        "DocumentType": "SEMI_STRUCTURED_DOCUMENT",
                    }
                ],
            },
            "InvalidRequestException",
            arn,
        ),
        (
            "delimiter",
            {"DocumentClassifierInputDataConfig": {"S3Uri": uri, "LabelDelimiter": ";"}},
            "InvalidRequestException",
            arn,
        ),
        ("first", csv_config(uri), "ResourceInUseException", arn),
        ("late", csv_config(uri), "ResourceInUseException", failed),
        ("unknown", csv_config(uri), "ResourceNotFoundException", arn.replace("picky", "nope")),
    ]
    for name, config, code, target in cases:
        err = error_of(
            lambda name=name, config=config, target=target: client.create_dataset(
                FlywheelArn=target, DatasetName=name, InputDataConfig=config
            )
        )
        assert err["Code"] == code, (name, err)
    assert list(Dataset.objects.values_list("name", flat=True)) == ["first"]


@pytest.mark.parametrize(
    ("kind", "files", "expected"),
    [
        (
            ModelKind.CLASSIFIER,
            {"documents": "classifier-unclosed-quote.csv"},
            "classifier-unclosed-quote.csv line 200: a double quote opened on this line",
        ),
        (
            ModelKind.CLASSIFIER,
            {"documents": "classifier-missing-text.csv"},
            "classifier-missing-text.csv line 42: the row has a label but no text column",
        ),
        (
            ModelKind.RECOGNIZER,
            {"annotations": "recognizer-offset-past-line.csv"},
            "annotation row 11",
        ),
        (
            ModelKind.RECOGNIZER,
            {"annotations": "recognizer-line-out-of-range.csv"},
            "annotation row 8 points at line 9999",
        ),
    ],
)
def test_a_malformed_dataset_fails_naming_file_and_line(api, owner, store, kind, files, expected):
    client = api(owner)
    if kind == ModelKind.CLASSIFIER:
        arn = active_flywheel(client, owner, "strict", classifier_v1(client, owner, store))
        config = csv_config(
            store(owner, f"bad/{files['documents']}", BAD_INPUTS / files["documents"])
        )
    else:
        arn = active_flywheel(client, owner, "strict", recognizer_v1(owner, store))
        docs = store(owner, "bad/docs/recognizer-docs.txt", BAD_INPUTS / "recognizer-docs.txt")
        ann = store(owner, f"bad/{files['annotations']}", BAD_INPUTS / files["annotations"])
        config = {
            "EntityRecognizerInputDataConfig": {
                "Documents": {"S3Uri": docs},
                "Annotations": {"S3Uri": ann},
            }
        }
    lake = describe(client, arn)["DataLakeS3Uri"]
    before = sorted(files_under(owner, lake))
    props = dataset(client, arn, "bad", config)
    assert props["Status"] == "FAILED"
    assert expected in props["Message"], props["Message"]
    assert "NumberOfDocuments" not in props
    # Nothing of it outside staging/: the data lake is as it was.
    assert sorted(f for f in files_under(owner, lake) if not f.startswith("staging/")) == before


@pytest.mark.worker
def test_a_real_worker_builds_the_flywheel_and_ingests_a_dataset(api, owner, store, worker):
    client = api(owner)
    arn = create(client, owner, "by-worker", ActiveModelArn=recognizer_v1(owner, store).arn)
    assert wait_for(lambda: describe(client, arn)["Status"] != "CREATING", 120), worker.output()
    assert describe(client, arn)["Status"] == "ACTIVE", describe(client, arn).get("Message")
    docs = store(owner, "w/docs/recognizer-docs.txt", BAD_INPUTS / "recognizer-docs.txt")
    ann = store(owner, "w/ann.csv", BAD_INPUTS / "recognizer-annotations-ok.csv")
    ds_arn = client.create_dataset(
        FlywheelArn=arn,
        DatasetName="by-worker",
        InputDataConfig={
            "EntityRecognizerInputDataConfig": {
                "Documents": {"S3Uri": docs},
                "Annotations": {"S3Uri": ann},
            }
        },
    )["DatasetArn"]

    def status():
        return client.describe_dataset(DatasetArn=ds_arn)["DatasetProperties"]["Status"]

    assert wait_for(lambda: status() != "CREATING", 120), worker.output()
    assert status() == "COMPLETED"
