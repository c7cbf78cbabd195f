"""Trained models through models_app.services.artifacts, against a real S3-compatible server
(moto's, run as its own process): write, open, copy, delete, each machine's cache, and a worker
that shares no DATA_ROOT with the web process."""

import random
import shutil
import socket
import subprocess
import sys
import urllib.request
import uuid

import boto3
import pytest

from models_app.ml import artifacts as ml_artifacts
from models_app.ml.classifier import fit
from models_app.models import ModelVersion
from models_app.services import serving, versions
from models_app.services.artifacts import (
    artifact_copy,
    artifact_delete,
    artifact_location,
    artifact_open,
    artifact_write,
    store_location,
)
from tests import factories
from webapp.core.background import wait_for
from webapp.core.errors import ServiceError

TOPICS = {
    "weather": "rain sunny forecast cloudy storm wind temperature snow humid cold".split(),
    "sports": "football match goal team score league referee player coach stadium".split(),
    "cooking": "recipe oven flour bake sauce garlic simmer onion butter dinner".split(),
}
FILLER = "the a today really please about my some this that".split()


def dataset(per_label: int = 50) -> list[tuple[str, str]]:
    """Short documents of three topics, each a few topic words among common ones."""
    rng = random.Random(7)
    rows = []
    for i in range(per_label):
        for label, words in TOPICS.items():
            text = " ".join(rng.sample(words, 4) + rng.sample(FILLER, 3))
            rows.append((label, f"{text} {i}"))
    return rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 server, a real HTTP service in a process of its own."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def answers():
        try:
            return urllib.request.urlopen(url, timeout=2).status == 200
        except OSError:
            return False

    assert wait_for(answers, 60), "the S3 server did not start"
    yield url
    proc.terminate()
    proc.wait()


@pytest.fixture
def s3(s3_server, settings, tmp_path):
    """This process as one machine (DATA_ROOT of its own) of an installation on the S3 server."""
    settings.S3_ENDPOINT_URL = s3_server
    settings.S3_ACCESS_KEY_ID = "testing"
    settings.S3_SECRET_ACCESS_KEY = "testing"
    settings.ARTIFACT_BUCKET = f"artifacts-{uuid.uuid4().hex[:12]}"
    settings.DATA_ROOT = tmp_path / "web"
    settings.DATA_ROOT.mkdir()
    serving.clear()
    yield boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    serving.clear()


@pytest.fixture(scope="module")
def small_model():
    rows = dataset()
    return fit([t for _, t in rows], [label for label, _ in rows], mode="MULTI_CLASS")


def trained(user, model, **fields):
    """A version row whose model is written through artifact_write, as training does."""
    version = factories.version(user, **fields)
    uri, sha256 = artifact_write(
        version, lambda folder: ml_artifacts.save_classifier(model, folder)
    )
    ModelVersion.objects.filter(pk=version.pk).update(artifact_uri=uri, artifact_sha256=sha256)
    version.refresh_from_db()
    return version


def keys(client, bucket, prefix="") -> list[str]:
    found = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(obj["Key"] for obj in found)


SAMPLE = ["goal team referee football match", "oven flour bake butter recipe"]


def test_a_model_goes_to_the_store_and_another_machine_reads_it(
    s3, settings, owner, small_model, tmp_path
):
    version = trained(owner, small_model)
    account_id = owner.membership.account.account_id
    prefix = f"artifacts/{account_id}/{version.model_id}/{version.pk}/"
    assert version.artifact_uri == f"s3://{settings.ARTIFACT_BUCKET}/{prefix}"
    stored = keys(s3, settings.ARTIFACT_BUCKET, prefix)
    assert {prefix + name for name in ("metadata.json", "model.json", "weights.npy")} <= set(stored)
    # Nothing under DATA_ROOT/artifacts: the writing machine keeps only its cache entry.
    assert not (tmp_path / "web" / "artifacts").exists()
    assert sorted(p.name for p in (tmp_path / "web" / "artifact-cache").iterdir()) == [
        version.artifact_sha256
    ]

    settings.DATA_ROOT = tmp_path / "other"  # a machine that has never seen the model
    folder = artifact_open(version)
    assert folder == tmp_path / "other" / "artifact-cache" / version.artifact_sha256
    loaded = ml_artifacts.load_classifier(folder, sha256=version.artifact_sha256)
    assert loaded.predict(SAMPLE) == ["sports", "cooking"]
    assert serving.get(version).classify(SAMPLE)[0]["Classes"][0]["Name"] == "sports"

    # Opened once, the model is read from the cache: the store is not asked again.
    for key in stored:
        s3.delete_object(Bucket=settings.ARTIFACT_BUCKET, Key=key)
    assert artifact_open(version) == folder


def test_a_damaged_cache_entry_is_fetched_again(s3, settings, owner, small_model, tmp_path):
    version = trained(owner, small_model)
    entry = tmp_path / "web" / "artifact-cache" / version.artifact_sha256
    good = (entry / "bias.npy").read_bytes()
    with open(entry / "bias.npy", "r+b") as handle:
        handle.seek(-1, 2)
        handle.write(b"\x01")

    served = serving.get(version)
    assert served.classify(SAMPLE)[1]["Classes"][0]["Name"] == "cooking"
    assert (entry / "bias.npy").read_bytes() == good


def test_a_damaged_stored_model_is_refused(s3, settings, owner, small_model, tmp_path):
    version = trained(owner, small_model)
    key = storage_key(version, "bias.npy")
    body = s3.get_object(Bucket=settings.ARTIFACT_BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=settings.ARTIFACT_BUCKET, Key=key, Body=body[:-1] + b"\x01")
    settings.DATA_ROOT = tmp_path / "other"

    with pytest.raises(ServiceError) as excinfo:
        serving.get(version)
    assert excinfo.value.code == "ResourceUnavailableException"
    assert "could not be loaded" in excinfo.value.message
    assert str(tmp_path) not in excinfo.value.message


def storage_key(version, name):
    return f"{store_location(version).key}{name}"


def test_a_recognizer_and_its_model_folder_come_back_whole(s3, settings, owner, tmp_path):
    from models_app.ml import recognizer as ml_recognizer
    from models_app.ml.ner_artifacts import load_recognizer, save_recognizer
    from models_app.models import ModelKind

    names = ["Alice", "Bruno", "Chen", "Dara", "Emil", "Farah"]
    texts = [f"{n} met {m} in town today" for n in names for m in names if n != m]
    spans = [[(0, len(t.split()[0]), "PERSON")] for t in texts]
    model = ml_recognizer.fit(texts, spans, entity_types=["PERSON"], seed=0, max_epochs=2)
    version = factories.version(owner, kind=ModelKind.RECOGNIZER)
    uri, sha256 = artifact_write(version, lambda folder: save_recognizer(model, folder))
    stored = keys(s3, settings.ARTIFACT_BUCKET, store_location(version).key)
    assert any("/model/" in key for key in stored)  # spaCy's own folder, kept as a folder
    ModelVersion.objects.filter(pk=version.pk).update(artifact_uri=uri, artifact_sha256=sha256)
    version.refresh_from_db()

    settings.DATA_ROOT = tmp_path / "other"
    loaded = load_recognizer(artifact_open(version), sha256=sha256)
    assert loaded.entities(texts[:5]) == model.entities(texts[:5])


def test_copy_gives_the_other_version_its_own_stored_model(
    s3, settings, owner, small_model, tmp_path
):
    source = trained(owner, small_model, version_name="v1")
    target = factories.version(owner, version_name="v2")
    uri = artifact_copy(source, target)
    assert uri == str(store_location(target)) and uri != source.artifact_uri
    ModelVersion.objects.filter(pk=target.pk).update(
        artifact_uri=uri, artifact_sha256=source.artifact_sha256
    )
    target.refresh_from_db()
    bucket = settings.ARTIFACT_BUCKET
    names = [k.rsplit("/", 1)[1] for k in keys(s3, bucket, store_location(source).key)]
    assert [k.rsplit("/", 1)[1] for k in keys(s3, bucket, store_location(target).key)] == names

    # The copy stands on its own once the source is gone.
    artifact_delete(artifact_location(source))
    assert keys(s3, bucket, store_location(source).key) == []
    settings.DATA_ROOT = tmp_path / "other"
    assert serving.get(target).classify(SAMPLE)[0]["Classes"][0]["Name"] == "sports"


def test_deleting_a_version_removes_its_stored_model(
    s3, settings, owner, small_model, django_capture_on_commit_callbacks
):
    version = trained(owner, small_model)
    assert keys(s3, settings.ARTIFACT_BUCKET, store_location(version).key)
    with django_capture_on_commit_callbacks(execute=True):
        versions.version_delete(
            account=owner.membership.account, kind=version.model.kind, arn=version.arn
        )
    assert keys(s3, settings.ARTIFACT_BUCKET, "artifacts/") == []


def test_without_an_object_store_models_stay_under_data_root(
    settings, owner, small_model, tmp_path, django_capture_on_commit_callbacks
):
    settings.S3_ENDPOINT_URL = ""
    settings.DATA_ROOT = tmp_path
    serving.clear()
    source = trained(owner, small_model, version_name="v1")
    account_id = owner.membership.account.account_id
    expected = tmp_path / "artifacts" / account_id / str(source.model_id) / str(source.pk)
    assert source.artifact_uri == str(expected)
    assert artifact_open(source) == expected
    assert not (tmp_path / "artifact-cache").exists()

    target = factories.version(owner, version_name="v2")
    copied = artifact_copy(source, target)
    assert copied == str(expected.parent / str(target.pk))
    ModelVersion.objects.filter(pk=target.pk).update(
        artifact_uri=copied, artifact_sha256=source.artifact_sha256
    )
    with django_capture_on_commit_callbacks(execute=True):
        versions.version_delete(
            account=owner.membership.account, kind=source.model.kind, arn=source.arn
        )
    assert not expected.exists()
    target.refresh_from_db()
    assert serving.get(target).classify(SAMPLE)[1]["Classes"][0]["Name"] == "cooking"
    serving.clear()


@pytest.mark.worker
def test_a_worker_on_another_machine_trains_and_the_web_serves(
    s3, s3_server, settings, api, owner, store, start_worker, tmp_path
):
    account_id = owner.membership.account.account_id
    s3.create_bucket(Bucket=f"{account_id}-data")  # the account's bucket "data"
    csv = "".join(f"{label},{text}\n" for label, text in dataset()).encode()
    uri = store(owner, "train/topics.csv", csv)
    worker_root = tmp_path / "worker"
    worker = start_worker(
        DATA_ROOT=worker_root,
        S3_ENDPOINT_URL=s3_server,
        S3_ACCESS_KEY_ID="testing",
        S3_SECRET_ACCESS_KEY="testing",
        ARTIFACT_BUCKET=settings.ARTIFACT_BUCKET,
        SECRET_KEY=settings.SECRET_KEY,
    )
    client = api(owner)
    arn = client.create_document_classifier(
        DocumentClassifierName="topics",
        DataAccessRoleArn=f"arn:aws:iam::{account_id}:role/Comprehend",
        InputDataConfig={"S3Uri": uri},
        LanguageCode="en",
    )["DocumentClassifierArn"]

    def status():
        return client.describe_document_classifier(DocumentClassifierArn=arn)[
            "DocumentClassifierProperties"
        ]["Status"]

    assert wait_for(lambda: status() in ("TRAINED", "IN_ERROR"), 300), worker.output()
    assert status() == "TRAINED", worker.output()
    version = ModelVersion.objects.get(model__name="topics")
    assert version.artifact_uri.startswith(f"s3://{settings.ARTIFACT_BUCKET}/artifacts/")
    assert not (worker_root / "artifacts").exists()
    # The worker's machine goes away with its files: everything else must come from S3.
    shutil.rmtree(worker_root / "artifact-cache")

    endpoint = client.create_endpoint(EndpointName="topics", ModelArn=arn, DesiredInferenceUnits=1)[
        "EndpointArn"
    ]

    def endpoint_status():
        return client.describe_endpoint(EndpointArn=endpoint)["EndpointProperties"]["Status"]

    assert wait_for(lambda: endpoint_status() in ("IN_SERVICE", "FAILED"), 300), worker.output()
    assert endpoint_status() == "IN_SERVICE", worker.output()
    assert (worker_root / "artifact-cache" / version.artifact_sha256).is_dir()

    answer = client.classify_document(Text=SAMPLE[0], EndpointArn=endpoint)
    assert answer["Classes"][0]["Name"] == "sports"
    assert (tmp_path / "web" / "artifact-cache" / version.artifact_sha256).is_dir()
    assert not (tmp_path / "web" / "artifacts").exists()
