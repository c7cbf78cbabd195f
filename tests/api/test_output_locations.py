"""Output locations are folders: one naming an existing object is refused when the work is asked
for, and a location that turns into a file afterwards fails the work with a message naming the
URI, never a server path (nor does a model that cannot be stored)."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from models_app.models import AnalysisJob, ModelStatus, ModelVersion
from tests import factories
from tests.conftest import run_queued_jobs
from tests.models_app.pages import field_error, text
from webapp.core import storage

WORDS = {
    "sports": "match goal team season coach league",
    "politics": "vote election senate policy minister law",
    "science": "atom cell experiment theory physics lab",
}


def training_csv() -> bytes:
    rows = [
        f"{label},{words} document {i} {words.split()[i % 6]}"
        for i in range(12)
        for label, words in WORDS.items()
    ]
    return ("\n".join(rows) + "\n").encode()


def put(user, key: str, data: bytes) -> str:
    uri = storage.S3Uri("data", key)
    storage.save_upload(user.membership.account.account_id, uri, io.BytesIO(data))
    return str(uri)


def role(user) -> str:
    return f"arn:aws:iam::{user.membership.account.account_id}:role/Comprehend"


def assert_no_server_path(message: str) -> None:
    assert str(settings.DATA_ROOT) not in message, message
    for marker in ("/tmp/", "/work/", "/root/", "Traceback", "Errno", " object at 0x"):
        assert marker not in message, message


def create_classifier(client, user, train: str, output: str) -> str:
    return client.create_document_classifier(
        DocumentClassifierName="intents",
        DataAccessRoleArn=role(user),
        InputDataConfig={"S3Uri": train},
        OutputDataConfig={"S3Uri": output},
        LanguageCode="en",
    )["DocumentClassifierArn"]


@pytest.mark.parametrize("output", ["s3://data/train.csv", "s3://data/train.csv/below/"])
def test_training_output_naming_an_object_is_refused(api, owner, output):
    train = put(owner, "train.csv", training_csv())
    client = api(owner)
    with pytest.raises(client.exceptions.ClientError) as excinfo:
        create_classifier(client, owner, train, output)
    error = excinfo.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert output in error["Message"] and "OutputDataConfig.S3Uri" in error["Message"]
    assert_no_server_path(error["Message"])
    assert not ModelVersion.objects.exists()


def test_analysis_output_naming_an_object_is_refused(api, owner):
    version = factories.version(owner, name="intents", version_name="v1")
    docs = put(owner, "in/docs.txt", b"a goal in the match\n")
    client = api(owner)
    with pytest.raises(client.exceptions.ClientError) as excinfo:
        client.start_document_classification_job(
            DocumentClassifierArn=version.arn,
            InputDataConfig={"S3Uri": docs, "InputFormat": "ONE_DOC_PER_LINE"},
            OutputDataConfig={"S3Uri": docs},
            DataAccessRoleArn=role(owner),
        )
    error = excinfo.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert docs in error["Message"]
    assert_no_server_path(error["Message"])
    assert not AnalysisJob.objects.exists()


def test_training_whose_output_became_a_file_fails_naming_the_uri(api, owner, transactional_db):
    train = put(owner, "train.csv", training_csv())
    client = api(owner)
    arn = create_classifier(client, owner, train, "s3://data/out")
    put(owner, "out", b"now a file where the output folder was to be\n")
    run_queued_jobs()
    props = client.describe_document_classifier(DocumentClassifierArn=arn)[
        "DocumentClassifierProperties"
    ]
    assert props["Status"] == ModelStatus.IN_ERROR
    assert "s3://data/out/" in props["Message"]
    assert_no_server_path(props["Message"])


def test_a_model_that_cannot_be_stored_fails_without_a_server_path(api, owner, transactional_db):
    train = put(owner, "train.csv", training_csv())
    client = api(owner)
    arn = create_classifier(client, owner, train, "s3://data/out/")
    # A file where the account's artifact folder goes: storing the trained model fails.
    blocker = Path(settings.DATA_ROOT) / "artifacts" / owner.membership.account.account_id
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")
    run_queued_jobs()
    props = client.describe_document_classifier(DocumentClassifierArn=arn)[
        "DocumentClassifierProperties"
    ]
    assert props["Status"] == ModelStatus.IN_ERROR
    assert "could not be stored" in props["Message"]
    assert_no_server_path(props["Message"])


def test_the_console_shows_the_refusal_at_the_output_field(client, owner):
    train = put(owner, "train.csv", training_csv())
    client.force_login(owner)
    resp = client.post(
        reverse("models_app:classifier-create"),
        {
            "name": "news",
            "version_name": "v1",
            "language_code": "en",
            "mode": "MULTI_CLASS",
            "label_delimiter": "|",
            "data_format": "COMPREHEND_CSV",
            "training_uri": train,
            "test_source": "AUTOSPLIT",
            "output_uri": train,
            "data_access_role_arn": role(owner),
        },
    )
    assert resp.status_code == 200
    error = field_error(text(resp), "output_uri")
    assert error == f"{train} is a file, not a folder: give a folder such as s3://data/output/."
    assert_no_server_path(error)
    assert not ModelVersion.objects.exists()

    version = factories.version(owner, name="intents", version_name="v1")
    resp = client.post(
        reverse("inference:job-create"),
        {
            "kind": "classification",
            "model_arn": version.arn,
            "input_uri": train,
            "input_format": "ONE_DOC_PER_LINE",
            "output_uri": train,
            "data_access_role_arn": role(owner),
        },
    )
    assert resp.status_code == 200
    error = field_error(text(resp), "output_uri")
    assert error == f"{train} is a file, not a folder: give a folder such as s3://data/output/."
    assert not AnalysisJob.objects.exists()
