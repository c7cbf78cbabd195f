"""Flywheel iterations through boto3: an iteration trains and scores a new version, UpdateFlywheel
moves the flywheel's endpoint to it while a client keeps calling, a new model's flywheel trains
and activates its version 1, every refusal of StartFlywheelIteration, Describe and List, and an
outsider who sees no iteration."""

import csv
import io
import json
import os
import re
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import override_settings

from flywheel_app.models import FlywheelIteration
from models_app.models import Endpoint, ModelKind, ModelStatus, ModelVersion
from models_app.services import serving
from tests.api.test_flywheels import (
    LABELS,
    TYPES,
    account_id,
    active_flywheel,
    classifier_v1,
    create,
    csv_config,
    dataset,
    describe,
    error_of,
    files_under,
    read,
)
from tests.bad_inputs import TYPE_OF
from tests.conftest import BAD_INPUTS, DATA, run_queued_jobs
from tests.trained import trained
from webapp.accounts.services.access_keys import access_key_create
from webapp.core import storage

pytestmark = pytest.mark.usefixtures("transactional_db")

ITERATION_ID = re.compile(r"\d{8}T\d{6}Z")
GENERATED = re.compile(r"Comprehend-Generated-v(\d+)-[0-9a-f]{8}")


def clinc_rows(labels, source="test.csv") -> bytes:
    """The rows of a CLINC150 slice whose intent is one of `labels`."""
    lines = (DATA / "clinc150" / source).read_text().splitlines()
    return ("\n".join(line for line in lines if line.split(",", 1)[0] in labels) + "\n").encode()


def iteration(client, flywheel_arn, iteration_id) -> dict:
    return client.describe_flywheel_iteration(
        FlywheelArn=flywheel_arn, FlywheelIterationId=iteration_id
    )["FlywheelIterationProperties"]


def check_metrics(metrics: dict, *, classifier: bool = True) -> None:
    names = {"AverageF1Score", "AveragePrecision", "AverageRecall"}
    if classifier:
        names.add("AverageAccuracy")
    assert set(metrics) == names
    assert all(0.0 <= value <= 1.0 for value in metrics.values()), metrics


def answer_of(version: ModelVersion, text: str) -> dict:
    """What the version itself answers for a text (loaded as the endpoint loads it)."""
    return serving.get(version).classify([text])[0]


def test_an_iteration_trains_scores_and_its_endpoint_follows_the_update(
    api, owner, outsider, store
):
    client = api(owner)
    v1 = classifier_v1(client, owner, store)
    arn = active_flywheel(client, owner, "intents-loop", v1)
    new_rows = store(owner, "clinc/new.csv", clinc_rows(LABELS))
    props = dataset(client, arn, "new-rows", csv_config(new_rows))
    assert props["Status"] == "COMPLETED" and props["NumberOfDocuments"] == 30

    started = client.start_flywheel_iteration(FlywheelArn=arn)
    assert started["FlywheelArn"] == arn
    iteration_id = started["FlywheelIterationId"]
    assert ITERATION_ID.fullmatch(iteration_id)
    assert iteration(client, arn, iteration_id)["Status"] == "TRAINING"
    run_queued_jobs()

    it = iteration(client, arn, iteration_id)
    assert it["Status"] == "COMPLETED", it.get("Message")
    assert it["EvaluatedModelArn"] == v1.arn
    trained_arn = it["TrainedModelArn"]
    name = trained_arn.rsplit("/version/", 1)[1]
    assert trained_arn.startswith(v1.arn.rsplit("/version/", 1)[0] + "/version/")
    assert GENERATED.fullmatch(name) and GENERATED.fullmatch(name).group(1) == "1"
    check_metrics(it["EvaluatedModelMetrics"])
    check_metrics(it["TrainedModelMetrics"])
    assert it["CreationTime"] <= it["EndTime"]
    assert describe(client, arn)["LatestFlywheelIteration"] == iteration_id
    # The flywheel had an active version: the new one waits to be made active (the promotion
    # rule is off by default, so the iteration says nothing about it).
    assert describe(client, arn)["ActiveModelArn"] == v1.arn
    assert "Message" not in it

    trained = ModelVersion.objects.get(model__name="intents", version_name=name)
    assert trained.flywheel_arn == arn and trained.parent_id == v1.pk
    described = client.describe_document_classifier(DocumentClassifierArn=trained_arn)
    assert described["DocumentClassifierProperties"]["FlywheelArn"] == arn

    # The pool: the 30 documents v1 was tested on and 10% of the 30 new ones (one of each
    # label); the other 27 new documents join v1's 270 in training.
    lake = describe(client, arn)["DataLakeS3Uri"]
    base = f"{lake}model-datasets/intents_{name}/"
    assert it["EvaluationManifestS3Prefix"] == base + "model-stats/"
    assert sorted(files_under(owner, base)) == [
        "model-stats/metrics.json",
        "model-stats/predictions.jsonl",
        "test/documents.csv",
        "training/documents.csv",
    ]
    test_rows = read(owner, base + "test/documents.csv").splitlines()
    train_rows = read(owner, base + "training/documents.csv").splitlines()
    assert len(test_rows) == 33 and len(train_rows) == 297
    assert not {r.split(",", 1)[1] for r in test_rows} & {r.split(",", 1)[1] for r in train_rows}
    stats = json.loads(read(owner, base + "model-stats/metrics.json"))
    assert stats["NumberOfTestDocuments"] == 33
    assert [m["ModelArn"] for m in stats["Models"]] == [v1.arn, trained_arn]
    assert stats["Models"][1]["Metrics"] == it["TrainedModelMetrics"]
    predictions = [
        json.loads(line)
        for line in read(owner, base + "model-stats/predictions.jsonl").splitlines()
    ]
    assert len(predictions) == 33
    assert set(predictions[0]) == {
        "Document",
        "Source",
        "Text",
        "Gold",
        "EvaluatedPrediction",
        "TrainedPrediction",
    }
    assert sum(p["Source"].startswith("held out of new-rows") for p in predictions) == 3

    history = client.list_flywheel_iteration_history(FlywheelArn=arn)
    assert [p["FlywheelIterationId"] for p in history["FlywheelIterationPropertiesList"]] == [
        iteration_id
    ]
    # A second iteration needs a dataset completed since this one.
    err = error_of(lambda: client.start_flywheel_iteration(FlywheelArn=arn))
    assert err["Code"] == "InvalidRequestException" and iteration_id in err["Message"]

    # An endpoint given the flywheel's ARN serves its active version.
    endpoint_arn = client.create_endpoint(
        EndpointName="intents-live", FlywheelArn=arn, DesiredInferenceUnits=1
    )["EndpointArn"]
    run_queued_jobs()
    ep = client.describe_endpoint(EndpointArn=endpoint_arn)["EndpointProperties"]
    assert ep["Status"] == "IN_SERVICE" and ep["ModelArn"] == v1.arn and ep["FlywheelArn"] == arn

    # A text the two versions answer differently shows which one served a call.
    # (Texts far from every label get scores that are not rounded to 1 and 0.)
    texts = [
        "what a lovely day it is",
        "tell me a joke about cats",
        "how tall is the eiffel tower",
        "my card and my alarm clock",
        "book something",
    ] + [p["Text"] for p in predictions]
    text = next(t for t in texts if answer_of(v1, t) != answer_of(trained, t))
    before, after = answer_of(v1, text), answer_of(trained, text)

    def call() -> dict:
        answer = client.classify_document(EndpointArn=endpoint_arn, Text=text)
        return {k: v for k, v in answer.items() if k != "ResponseMetadata"}

    assert call() == before
    # The active version may not be deleted while the flywheel serves it.
    err = error_of(lambda: client.delete_document_classifier(DocumentClassifierArn=v1.arn))
    assert err["Code"] == "ResourceInUseException" and arn in err["Message"]

    answers, failures, stop = [], [], threading.Event()

    def keep_calling():
        caller = api(owner)
        while not stop.is_set():
            try:
                answer = caller.classify_document(EndpointArn=endpoint_arn, Text=text)
                answers.append({k: v for k, v in answer.items() if k != "ResponseMetadata"})
            except Exception as exc:  # every failure is reported below
                failures.append(repr(exc))

    thread = threading.Thread(target=keep_calling)
    thread.start()
    try:
        updated = client.update_flywheel(FlywheelArn=arn, ActiveModelArn=trained_arn)
        assert updated["FlywheelProperties"]["ActiveModelArn"] == trained_arn
        ep = client.describe_endpoint(EndpointArn=endpoint_arn)["EndpointProperties"]
        assert ep["Status"] == "UPDATING" and ep["DesiredModelArn"] == trained_arn
        assert ep["ModelArn"] == v1.arn  # the old model answers until the new one is loaded
        run_queued_jobs()
        count = len(answers)
        while len(answers) < count + 3 and not failures:
            threading.Event().wait(0.05)
    finally:
        stop.set()
        thread.join()
    assert failures == []
    assert answers and answers[-1] == after
    assert set(map(json.dumps, answers)) <= {json.dumps(before), json.dumps(after)}
    ep = client.describe_endpoint(EndpointArn=endpoint_arn)["EndpointProperties"]
    assert ep["Status"] == "IN_SERVICE" and ep["ModelArn"] == trained_arn
    assert call() == after
    listed = client.list_endpoints(Filter={"ModelArn": trained_arn})["EndpointPropertiesList"]
    assert [e["EndpointArn"] for e in listed] == [endpoint_arn]
    # v1 is no longer active, but its iteration still names it.
    err = error_of(lambda: client.delete_document_classifier(DocumentClassifierArn=v1.arn))
    assert err["Code"] == "ResourceInUseException" and iteration_id in err["Message"]

    # The outsider sees no iteration.
    other = api(outsider)
    for call_ in (
        lambda: other.describe_flywheel_iteration(
            FlywheelArn=arn, FlywheelIterationId=iteration_id
        ),
        lambda: other.list_flywheel_iteration_history(FlywheelArn=arn),
        lambda: other.start_flywheel_iteration(FlywheelArn=arn),
    ):
        assert error_of(call_)["Code"] == "ResourceNotFoundException"
    assert FlywheelIteration.objects.count() == 1


def dev_annotations() -> bytes:
    """WNUT-17's dev annotations, folded into the four types the suite's recognizers know."""
    with open(DATA / "wnut17" / "dev-annotations.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    for file, line, begin, end, type_ in rows[1:]:
        writer.writerow([file, line, begin, end, TYPE_OF[type_]])
    return out.getvalue().encode()


def test_a_recognizer_iteration_trains_and_scores_both_versions(api, owner, store):
    client = api(owner)
    with override_settings(RECOGNIZER_TIME_BUDGET_SECONDS=10):
        v1 = trained(ModelKind.RECOGNIZER, client, owner, store, name="people", version_name="v1")
    # Version 1's own data (a version reused from an earlier test names none of this account).
    docs = store(owner, "ner/docs/recognizer-docs.txt", BAD_INPUTS / "recognizer-docs.txt")
    ann = store(owner, "ner/ann.csv", BAD_INPUTS / "recognizer-annotations-ok.csv")
    ModelVersion.objects.filter(pk=v1.pk).update(
        input_data_config={
            "EntityTypes": [{"Type": t} for t in TYPES],
            "Documents": {"S3Uri": docs},
            "Annotations": {"S3Uri": ann},
        }
    )
    arn = active_flywheel(client, owner, "people-loop", v1)
    assert describe(client, arn)["ModelType"] == "ENTITY_RECOGNIZER"

    # A TRAIN dataset of 300 sentences v1 never saw (WNUT-17's dev slice), with annotations.
    new_docs = store(owner, "ner-dev/docs/dev.txt", DATA / "wnut17" / "dev.txt")
    new_ann = store(owner, "ner-dev/annotations.csv", dev_annotations())
    props = dataset(
        client,
        arn,
        "dev-sentences",
        {
            "DataFormat": "COMPREHEND_CSV",
            "EntityRecognizerInputDataConfig": {
                "Documents": {"S3Uri": new_docs},
                "Annotations": {"S3Uri": new_ann},
            },
        },
    )
    assert props["Status"] == "COMPLETED", props.get("Message")
    assert props["NumberOfDocuments"] == 300

    iteration_id = client.start_flywheel_iteration(FlywheelArn=arn)["FlywheelIterationId"]
    assert iteration(client, arn, iteration_id)["Status"] == "TRAINING"
    with override_settings(RECOGNIZER_TIME_BUDGET_SECONDS=10):
        run_queued_jobs()
    it = iteration(client, arn, iteration_id)
    assert it["Status"] == "COMPLETED", it.get("Message")
    assert it["EvaluatedModelArn"] == v1.arn
    assert it["TrainedModelArn"].startswith(
        f"arn:aws:comprehend:us-east-1:{account_id(owner)}:entity-recognizer/people/version/"
    )
    name = it["TrainedModelArn"].rsplit("/version/", 1)[1]
    assert GENERATED.fullmatch(name)
    # Both versions scored on the same pool; a recognizer has no AverageAccuracy.
    check_metrics(it["EvaluatedModelMetrics"], classifier=False)
    check_metrics(it["TrainedModelMetrics"], classifier=False)
    assert "Message" not in it  # the promotion rule is off: nothing promoted, nothing said
    assert describe(client, arn)["ActiveModelArn"] == v1.arn

    trained_version = ModelVersion.objects.get(model__name="people", version_name=name)
    assert trained_version.flywheel_arn == arn and trained_version.parent_id == v1.pk
    described = client.describe_entity_recognizer(EntityRecognizerArn=it["TrainedModelArn"])
    assert described["EntityRecognizerProperties"]["FlywheelArn"] == arn

    lake = describe(client, arn)["DataLakeS3Uri"]
    base = f"{lake}model-datasets/people_{name}/"
    assert it["EvaluationManifestS3Prefix"] == base + "model-stats/"
    assert sorted(files_under(owner, base)) == [
        "model-stats/metrics.json",
        "model-stats/predictions.jsonl",
        "test/annotations.csv",
        "test/documents.txt",
        "training/annotations.csv",
        "training/documents.txt",
    ]
    stats = json.loads(read(owner, base + "model-stats/metrics.json"))
    assert [m["ModelArn"] for m in stats["Models"]] == [v1.arn, it["TrainedModelArn"]]
    assert stats["Models"][0]["Metrics"] == it["EvaluatedModelMetrics"]
    # The pool: v1's test set and a tenth of the new sentences; no pool text trained.
    assert stats["TestDocumentSources"]["held out of dev-sentences"] == 30
    test_docs = set(read(owner, base + "test/documents.txt").splitlines())
    train_docs = read(owner, base + "training/documents.txt").splitlines()
    assert len(test_docs) == stats["NumberOfTestDocuments"]
    assert not test_docs & set(train_docs)
    assert trained_version.number_of_trained_documents == len(train_docs)


def test_a_new_models_flywheel_trains_and_activates_version_1(api, owner, store):
    client = api(owner)
    arn = create(
        client,
        owner,
        "fresh-intents",
        ModelType="DOCUMENT_CLASSIFIER",
        TaskConfig={
            "LanguageCode": "en",
            "DocumentClassificationConfig": {"Mode": "MULTI_CLASS", "Labels": LABELS},
        },
    )
    run_queued_jobs()
    # Nothing to train with yet.
    err = error_of(lambda: client.start_flywheel_iteration(FlywheelArn=arn))
    assert err["Code"] == "InvalidRequestException"
    uri = store(owner, "clinc/three.csv", DATA / "clinc150" / "three-intents.csv")
    assert dataset(client, arn, "first", csv_config(uri))["Status"] == "COMPLETED"

    iteration_id = client.start_flywheel_iteration(FlywheelArn=arn)["FlywheelIterationId"]
    run_queued_jobs()
    it = iteration(client, arn, iteration_id)
    assert it["Status"] == "COMPLETED", it.get("Message")
    assert "EvaluatedModelArn" not in it and "EvaluatedModelMetrics" not in it
    check_metrics(it["TrainedModelMetrics"])
    assert it["TrainedModelMetrics"]["AverageF1Score"] > 0.8
    prefix = f"arn:aws:comprehend:us-east-1:{account_id(owner)}:document-classifier/fresh-intents"
    assert it["TrainedModelArn"].startswith(prefix + "/version/Comprehend-Generated-v1-")
    props = describe(client, arn)
    assert props["ActiveModelArn"] == it["TrainedModelArn"]
    assert props["TaskConfig"]["DocumentClassificationConfig"]["Labels"] == LABELS
    version = ModelVersion.objects.get(model__name="fresh-intents")
    assert version.status in ModelStatus.USABLE and version.parent_id is None
    # 10% of the 300 documents were held out to score it; the rest trained it.
    assert version.number_of_trained_documents == 270
    assert version.number_of_test_documents == 30


def test_start_describe_and_list_refusals(api, owner, store):
    client = api(owner)
    v1 = classifier_v1(client, owner, store)
    arn = active_flywheel(client, owner, "refusals", v1)
    missing = arn.replace("refusals", "nothing-here")
    assert (
        error_of(lambda: client.start_flywheel_iteration(FlywheelArn=missing))["Code"]
        == "ResourceNotFoundException"
    )
    # No dataset yet.
    err = error_of(lambda: client.start_flywheel_iteration(FlywheelArn=arn))
    assert err["Code"] == "InvalidRequestException" and "no new dataset" in err["Message"]

    # A dataset being created.
    uri = store(owner, "clinc/new.csv", clinc_rows(LABELS))
    ds = client.create_dataset(
        FlywheelArn=arn, DatasetName="pending", InputDataConfig=csv_config(uri)
    )["DatasetArn"]
    err = error_of(lambda: client.start_flywheel_iteration(FlywheelArn=arn))
    assert err["Code"] == "ResourceInUseException" and "pending" in err["Message"]
    run_queued_jobs()
    assert client.describe_dataset(DatasetArn=ds)["DatasetProperties"]["Status"] == "COMPLETED"

    # One iteration at a time; a retried request (same token) gets the same iteration.
    first = client.start_flywheel_iteration(FlywheelArn=arn, ClientRequestToken="once-1")
    again = client.start_flywheel_iteration(FlywheelArn=arn, ClientRequestToken="once-1")
    assert again["FlywheelIterationId"] == first["FlywheelIterationId"]
    err = error_of(lambda: client.start_flywheel_iteration(FlywheelArn=arn))
    assert err["Code"] == "ResourceInUseException"
    assert first["FlywheelIterationId"] in err["Message"]
    # Nor may the flywheel be deleted meanwhile.
    err = error_of(lambda: client.delete_flywheel(FlywheelArn=arn))
    assert err["Code"] == "ResourceInUseException"

    for iteration_id, code in (
        ("20200101T000000Z", "ResourceNotFoundException"),
        ("yesterday", "ValidationException"),
    ):
        err = error_of(
            lambda iteration_id=iteration_id: client.describe_flywheel_iteration(
                FlywheelArn=arn, FlywheelIterationId=iteration_id
            )
        )
        assert err["Code"] == code
    err = error_of(
        lambda: client.describe_flywheel_iteration(
            FlywheelArn=missing, FlywheelIterationId=first["FlywheelIterationId"]
        )
    )
    assert err["Code"] == "ResourceNotFoundException"
    run_queued_jobs()
    assert iteration(client, arn, first["FlywheelIterationId"])["Status"] == "COMPLETED"

    # List: newest first, filtered by creation time, paged.
    listed = client.list_flywheel_iteration_history(FlywheelArn=arn, MaxResults=1)
    assert len(listed["FlywheelIterationPropertiesList"]) == 1 and "NextToken" not in listed
    later = listed["FlywheelIterationPropertiesList"][0]["CreationTime"] + timedelta(seconds=1)
    for flt, count in (({"CreationTimeAfter": later}, 0), ({"CreationTimeBefore": later}, 1)):
        found = client.list_flywheel_iteration_history(FlywheelArn=arn, Filter=flt)
        assert len(found["FlywheelIterationPropertiesList"]) == count
    err = error_of(lambda: client.list_flywheel_iteration_history(FlywheelArn=arn, MaxResults=501))
    assert err["Code"] == "ValidationException"


def test_an_iteration_whose_training_fails_ends_failed_with_the_reason(api, owner, store):
    client = api(owner)
    arn = create(
        client,
        owner,
        "too-few",
        ModelType="DOCUMENT_CLASSIFIER",
        TaskConfig={
            "LanguageCode": "en",
            "DocumentClassificationConfig": {"Mode": "MULTI_CLASS", "Labels": LABELS},
        },
    )
    run_queued_jobs()
    # alarm has 5 documents: too few to train on (Comprehend needs 10 of each label).
    rows = clinc_rows(["accept_reservations", "account_blocked"], "train.csv").decode()
    alarm = [r for r in clinc_rows(["alarm"], "train.csv").decode().splitlines()][:5]
    uri = store(owner, "clinc/few.csv", (rows + "\n".join(alarm) + "\n").encode())
    assert dataset(client, arn, "few", csv_config(uri))["Status"] == "COMPLETED"
    iteration_id = client.start_flywheel_iteration(FlywheelArn=arn)["FlywheelIterationId"]
    run_queued_jobs()
    it = iteration(client, arn, iteration_id)
    assert it["Status"] == "FAILED"
    assert "did not train" in it["Message"] and "at least 10" in it["Message"]
    assert "alarm" in it["Message"] and "/" not in it["Message"].split("did not train")[1]
    version = ModelVersion.objects.get(model__name="too-few")
    assert version.status == ModelStatus.IN_ERROR
    assert it["TrainedModelArn"] == version.arn and "TrainedModelMetrics" not in it
    assert "ActiveModelArn" not in describe(client, arn)
    # A failed iteration used no data: the next one may start with the same datasets.
    again = client.start_flywheel_iteration(FlywheelArn=arn)["FlywheelIterationId"]
    assert again != iteration_id


def test_create_endpoint_takes_a_flywheel_arn_as_model_arn(api, owner, store):
    client = api(owner)
    v1 = classifier_v1(client, owner, store)
    arn = active_flywheel(client, owner, "by-model-arn", v1)
    answer = client.create_endpoint(EndpointName="by-arn", ModelArn=arn, DesiredInferenceUnits=1)
    assert answer["ModelArn"] == v1.arn
    run_queued_jobs()
    ep = client.describe_endpoint(EndpointArn=answer["EndpointArn"])["EndpointProperties"]
    assert ep["Status"] == "IN_SERVICE" and ep["ModelArn"] == v1.arn and ep["FlywheelArn"] == arn
    # The flywheel cannot go while an endpoint follows it.
    err = error_of(lambda: client.delete_flywheel(FlywheelArn=arn))
    assert err["Code"] == "ResourceInUseException" and "by-arn" in err["Message"]
    assert Endpoint.objects.get(name="by-arn").flywheel_arn == arn


# The flywheel walkthrough's AWS CLI commands, with its placeholders filled. As printed, two have
# typos that no shell runs: `-- data-access-role-arn` (a space after the dashes) and the
# endpoint's command, which lost `create-endpoint` and has em dashes; both are mended here.
CREATE_FLYWHEEL = (
    "aws comprehend create-flywheel --flywheel-name custom-model-flywheel-test "
    "--active-model-arn arn:aws:comprehend:us-east-1:123456789012:document-classifier/"
    "yahoo-answers-version1 --data-access-role-arn "
    "arn:aws:iam::123456789012:role/comprehend-data-access-role "
    "--data-lake-s3-uri s3://123456789012-comprehend-flywheel-datalake/"
)
INPUT_CONFIG = (
    '{"DataFormat": "COMPREHEND_CSV","DocumentClassifierInputDataConfig": {"S3Uri": '
    '"s3://123456789012-comprehend/custom-classifier-complete-dataset.csv"}}'
)
CREATE_DATASET = (
    'aws comprehend create-dataset --flywheel-arn "arn:aws:comprehend:us-east-1:123456789012:'
    'flywheel/custom-model-flywheel-test" --dataset-name "training-dataset-complete" '
    '--dataset-type "TRAIN" --description "my training dataset" '
    "--input-data-config file://inputConfig.json"
)
START_ITERATION = (
    "aws comprehend start-flywheel-iteration \\--flywheel-arn  "
    '"arn:aws:comprehend:us-east-1:123456789012:flywheel/custom-model-flywheel-test"'
)
UPDATE_FLYWHEEL = (
    "aws comprehend update-flywheel --flywheel-arn arn:aws:comprehend:us-east-1:123456789012:"
    "flywheel/custom-model-flywheel-test --active-model-arn  "
    '"arn:aws:comprehend:us-east-1:123456789012:document-classifier/yahoo-answers-version1/'
    'version/Comprehend-Generated-v1-1b235dd0"'
)
CREATE_ENDPOINT = (
    "aws comprehend create-endpoint --endpoint-name custom-classification-endpoint "
    "--model-arn arn:aws:comprehend:us-east-1:123456789012:flywheel/custom-model-flywheel-test "
    "--desired-inference-units 1"
)


def cli(command: str, user, url: str, account: str, cwd: Path) -> dict:
    """Run one of the walkthrough's commands with bash, signed as the user, against Textwheel."""
    command = command.replace("123456789012", account) + f" --endpoint-url {url}"
    key, secret = user.cli_key
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AWS_ACCESS_KEY_ID": key.key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_DEFAULT_OUTPUT": "json",
        "AWS_MAX_ATTEMPTS": "1",
    }
    done = subprocess.run(
        ["bash", "-c", command], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


@pytest.mark.skipif(
    not (Path(sys.executable).parent / "aws").exists(), reason="the AWS CLI is not installed"
)
def test_the_flywheel_walkthrough_runs_as_printed(api, live_server, owner, store, tmp_path):
    owner.cli_key = access_key_create(account=owner.membership.account, user=owner)
    account = account_id(owner)
    client = api(owner)
    url = live_server.url + "/"
    # Version 1 (the walkthrough's yahoo-answers-version1) and its data.
    partial = storage.S3Uri(f"{account}-comprehend", "custom-classifier-partial-dataset.csv")
    complete = storage.S3Uri(f"{account}-comprehend", "custom-classifier-complete-dataset.csv")
    three = (DATA / "clinc150" / "three-intents.csv").read_bytes()
    for uri, data in ((partial, three), (complete, three + clinc_rows(LABELS))):
        storage.save_upload(account, uri, io.BytesIO(data))
    client.create_document_classifier(
        DocumentClassifierName="yahoo-answers-version1",
        DataAccessRoleArn=f"arn:aws:iam::{account}:role/comprehend-data-access-role",
        InputDataConfig={"S3Uri": str(partial)},
        LanguageCode="en",
    )
    run_queued_jobs()

    flywheel_arn = cli(CREATE_FLYWHEEL, owner, url, account, tmp_path)["FlywheelArn"]
    assert flywheel_arn == (
        f"arn:aws:comprehend:us-east-1:{account}:flywheel/custom-model-flywheel-test"
    )
    run_queued_jobs()
    (tmp_path / "inputConfig.json").write_text(INPUT_CONFIG.replace("123456789012", account))
    dataset_arn = cli(CREATE_DATASET, owner, url, account, tmp_path)["DatasetArn"]
    assert dataset_arn == flywheel_arn + "/dataset/training-dataset-complete"
    run_queued_jobs()
    started = cli(START_ITERATION, owner, url, account, tmp_path)
    assert started["FlywheelArn"] == flywheel_arn
    run_queued_jobs()
    it = iteration(client, flywheel_arn, started["FlywheelIterationId"])
    assert it["Status"] == "COMPLETED", it.get("Message")
    generated = it["TrainedModelArn"].rsplit("/version/", 1)[1]
    updated = cli(
        UPDATE_FLYWHEEL.replace("Comprehend-Generated-v1-1b235dd0", generated),
        owner,
        url,
        account,
        tmp_path,
    )["FlywheelProperties"]
    assert updated["ActiveModelArn"] == it["TrainedModelArn"]
    assert updated["LatestFlywheelIteration"] == started["FlywheelIterationId"]
    endpoint = cli(CREATE_ENDPOINT, owner, url, account, tmp_path)
    assert endpoint["ModelArn"] == it["TrainedModelArn"]
    run_queued_jobs()
    answer = client.classify_document(
        EndpointArn=endpoint["EndpointArn"], Text="please set an alarm for six in the morning"
    )
    assert answer["Classes"][0]["Name"] == "alarm"
