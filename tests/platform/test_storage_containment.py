"""The embedded store keeps every account inside its own folder, links or no links.

Each test builds the attack for real: account A's file under $DATA_ROOT/s3/A/, and in account
B's store a symlink that points at it (a linked bucket, a linked folder or file inside a bucket).
"""

import io
import os
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from models_app.models import ModelStatus, ModelVersion
from tests.conftest import run_queued_jobs
from webapp.core import storage
from webapp.core.errors import ServiceError

SECRET_LABELS = ("zebra_secret", "yak_secret", "lonely_secret")


def new_account() -> str:
    return str(uuid.uuid4().int)[:12]


def store_root(account_id: str) -> Path:
    return Path(settings.DATA_ROOT) / "s3" / account_id


def secret_csv() -> bytes:
    """Training data whose labels must never reach another account (one label is too rare)."""
    rows = [f"{label},document {i} about {label}" for label in SECRET_LABELS[:2] for i in range(20)]
    rows += [f"{SECRET_LABELS[2]},a lonely document"]
    return ("\n".join(rows) + "\n").encode()


def files_under(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def assert_clean(message: str) -> None:
    """A refusal names no server path and nothing of the other account's data."""
    assert str(settings.DATA_ROOT) not in message, message
    assert "/tmp/" not in message and "/work/" not in message, message
    assert not any(label in message for label in SECRET_LABELS), message


@pytest.fixture
def linked():
    """A's data bucket holding a file, and B's bucket `linked-bucket` that is a link to it."""
    a, b = new_account(), new_account()
    storage.save_upload(a, storage.S3Uri("data", "train/secret.csv"), io.BytesIO(secret_csv()))
    store_root(b).mkdir(parents=True)
    os.symlink(store_root(a) / "data", store_root(b) / "linked-bucket")
    return a, b


def refused(call) -> str:
    with pytest.raises(ServiceError) as excinfo:
        call()
    assert_clean(excinfo.value.message)
    return excinfo.value.message


def test_a_linked_bucket_cannot_be_read(linked):
    _, b = linked
    uri = storage.parse_uri("s3://linked-bucket/train/secret.csv", field="S3Uri")
    message = refused(lambda: storage.open_read(b, uri))
    assert "linked-bucket" in message and "link" in message
    refused(lambda: storage.local_path(b, uri))


def test_a_linked_bucket_cannot_be_listed(linked):
    _, b = linked
    for text in ("s3://linked-bucket/", "s3://linked-bucket/train/", "s3://linked-bucket/tr"):
        uri = storage.parse_uri(text, field="S3Uri")
        refused(lambda uri=uri: storage.list_files(b, uri))
        refused(lambda uri=uri: storage.exists(b, uri))


def test_a_linked_bucket_cannot_be_written_or_deleted(linked):
    a, b = linked
    before = files_under(store_root(a))
    uri = storage.parse_uri("s3://linked-bucket/out/planted.txt", field="S3Uri")
    refused(lambda: storage.save_upload(b, uri, io.BytesIO(b"planted")))
    refused(lambda: storage.open_write(b, uri).__enter__())
    refused(lambda: storage.delete_prefix(b, storage.parse_uri("s3://linked-bucket/", field="f")))
    refused(
        lambda: storage.check_output_location(b, "s3://linked-bucket/out/", field="OutputS3Uri")
    )
    assert files_under(store_root(a)) == before


def test_links_inside_a_bucket_may_not_lead_out_of_it(linked):
    a, b = linked
    before = files_under(store_root(a))
    storage.save_upload(b, storage.S3Uri("mine", "own.csv"), io.BytesIO(b"x,y\n"))
    bucket = store_root(b) / "mine"
    os.symlink(store_root(a) / "data" / "train", bucket / "folder")
    os.symlink(store_root(a) / "data" / "train" / "secret.csv", bucket / "file.csv")

    refused(lambda: storage.open_read(b, storage.S3Uri("mine", "folder/secret.csv")))
    refused(lambda: storage.open_read(b, storage.S3Uri("mine", "file.csv")))
    refused(lambda: storage.list_files(b, storage.S3Uri("mine", "file.csv")))
    # Listing the bucket meets the linked file: refused rather than read through.
    refused(lambda: storage.list_files(b, storage.S3Uri("mine", "")))
    refused(lambda: storage.save_upload(b, storage.S3Uri("mine", "folder/x"), io.BytesIO(b"x")))
    refused(lambda: storage.delete_prefix(b, storage.S3Uri("mine", "folder/")))
    assert files_under(store_root(a)) == before


def test_an_account_folder_that_is_a_link_is_refused(linked):
    a, _ = linked
    c = new_account()
    store_root(c).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(store_root(a), store_root(c))
    uri = storage.parse_uri("s3://data/train/secret.csv", field="S3Uri")
    refused(lambda: storage.open_read(c, uri))
    refused(lambda: storage.list_files(c, uri))
    refused(lambda: storage.save_upload(c, storage.S3Uri("data", "x"), io.BytesIO(b"x")))


def test_a_link_to_nothing_is_not_listed():
    b = new_account()
    storage.save_upload(b, storage.S3Uri("mine", "own.csv"), io.BytesIO(b"x,y\n"))
    os.symlink("gone.csv", store_root(b) / "mine" / "dangling.csv")
    found = storage.list_files(b, storage.S3Uri("mine", ""))
    assert [uri.key for uri, _ in found] == ["own.csv"]


def test_a_link_that_stays_in_its_bucket_still_works():
    b = new_account()
    storage.save_upload(b, storage.S3Uri("mine", "real/own.csv"), io.BytesIO(b"x,y\n"))
    os.symlink("real", store_root(b) / "mine" / "alias")
    with storage.open_read(b, storage.S3Uri("mine", "alias/own.csv")) as handle:
        assert handle.read() == b"x,y\n"


def classifier_request(user, train: str, output: str) -> dict:
    return {
        "DocumentClassifierName": "borrowed",
        "DataAccessRoleArn": f"arn:aws:iam::{user.membership.account.account_id}:role/Comprehend",
        "InputDataConfig": {"S3Uri": train},
        "OutputDataConfig": {"S3Uri": output},
        "LanguageCode": "en",
    }


def test_an_account_cannot_train_on_or_write_into_another_through_a_link(
    api, owner, outsider, transactional_db
):
    a, b = owner.membership.account.account_id, outsider.membership.account.account_id
    storage.save_upload(a, storage.S3Uri("data", "train/secret.csv"), io.BytesIO(secret_csv()))
    store_root(b).mkdir(parents=True, exist_ok=True)
    os.symlink(store_root(a) / "data", store_root(b) / "linked-bucket")
    before = files_under(store_root(a))
    client = api(outsider)

    for train, output in [
        ("s3://linked-bucket/train/secret.csv", "s3://linked-bucket/output/"),
        ("s3://linked-bucket/train/secret.csv", "s3://own-output/"),
    ]:
        with pytest.raises(client.exceptions.InvalidRequestException) as excinfo:
            client.create_document_classifier(**classifier_request(outsider, train, output))
        assert_clean(excinfo.value.response["Error"]["Message"])
    # B's own training data, output into the linked bucket.
    storage.save_upload(b, storage.S3Uri("mine", "train.csv"), io.BytesIO(b"a,x\n"))
    with pytest.raises(client.exceptions.InvalidRequestException) as excinfo:
        client.create_document_classifier(
            **classifier_request(outsider, "s3://mine/train.csv", "s3://linked-bucket/output/")
        )
    assert_clean(excinfo.value.response["Error"]["Message"])
    assert not ModelVersion.objects.exists()

    # A bucket swapped for a link after the request was accepted fails when the work reads it.
    swap = store_root(b) / "swap"
    storage.save_upload(b, storage.S3Uri("swap", "train/secret.csv"), io.BytesIO(b"a,x\n"))
    arn = client.create_document_classifier(
        **classifier_request(outsider, "s3://swap/train/secret.csv", "s3://swap/output/")
    )["DocumentClassifierArn"]
    swap.rename(store_root(b) / "swapped-away")
    os.symlink(store_root(a) / "data", swap)
    run_queued_jobs()
    props = client.describe_document_classifier(DocumentClassifierArn=arn)[
        "DocumentClassifierProperties"
    ]
    assert props["Status"] == ModelStatus.IN_ERROR
    assert "swap" in props["Message"]
    assert_clean(props["Message"])
    assert files_under(store_root(a)) == before
