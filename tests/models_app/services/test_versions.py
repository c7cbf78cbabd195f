"""The version services, called directly: create, retry, stop, delete and train."""

import io
import random

import pytest

from models_app.models import CustomModel, ModelKind, ModelStatus, ModelVersion
from models_app.services import classifiers, versions
from tests import factories
from tests.conftest import run_queued_jobs
from webapp.accounts.models import Tag
from webapp.core import storage
from webapp.core.errors import ServiceError
from webapp.core.models import OutboxEntry

WORDS = {
    "weather": "rain sun cloud storm forecast wind snow",
    "music": "song guitar album band concert melody drum",
    "travel": "flight hotel train airport luggage ticket trip",
}


def _training_file(user, *, per_label=60, seed=0) -> str:
    rng = random.Random(seed)
    rows = []
    for label, words in WORDS.items():
        vocabulary = words.split()
        for _ in range(per_label):
            rows.append(f"{label},{' '.join(rng.choices(vocabulary, k=8))}")
    rng.shuffle(rows)
    uri = storage.S3Uri("data", "train.csv")
    data = io.BytesIO(("\n".join(rows) + "\n").encode())
    storage.save_upload(user.membership.account.account_id, uri, data)
    return str(uri)


def _create(user, **overrides):
    account = user.membership.account
    arguments = {
        "account": account,
        "name": "topics",
        "version_name": "v1",
        "input_data_config": {"S3Uri": _training_file(user)},
        "data_access_role_arn": f"arn:aws:iam::{account.account_id}:role/r",
    }
    arguments.update(overrides)
    return classifiers.classifier_create(**arguments)


def test_create_records_a_submitted_version_and_its_job(transactional_db, owner):
    version = _create(owner, tags=[{"Key": "team", "Value": "search"}])
    assert version.status == ModelStatus.SUBMITTED
    assert version.model.kind == ModelKind.CLASSIFIER
    # The job waits in the outbox until it is handed to the queue, then leaves it.
    assert not OutboxEntry.objects.filter(job_id=version.rq_job_id).exists()
    assert Tag.objects.filter(resource_arn=version.arn, key="team", value="search").exists()


def test_a_retried_create_returns_the_same_version(db, owner):
    first = _create(owner, client_request_token="token-1")
    again = _create(owner, client_request_token="token-1")
    assert again.pk == first.pk
    with pytest.raises(ServiceError) as excinfo:
        _create(owner, client_request_token="token-1", version_name="v2")
    assert excinfo.value.code == "ValidationException"
    assert ModelVersion.objects.count() == 1


def test_a_taken_version_name_is_in_use_and_creates_nothing(db, owner):
    _create(owner)
    with pytest.raises(ServiceError) as excinfo:
        _create(owner)
    assert excinfo.value.code == "ResourceInUseException"
    assert "already has version 'v1'" in excinfo.value.message
    assert ModelVersion.objects.count() == 1


def test_a_bad_request_writes_nothing(db, owner):
    with pytest.raises(ServiceError) as excinfo:
        _create(owner, language_code="xx")
    assert excinfo.value.code == "UnsupportedLanguageException"
    assert not CustomModel.objects.exists() and not OutboxEntry.objects.exists()


def test_stopping_a_queued_version_stops_it_at_once(db, owner):
    version = _create(owner)
    stopped = versions.version_stop(
        account=owner.membership.account, kind=ModelKind.CLASSIFIER, arn=version.arn
    )
    assert stopped.status == ModelStatus.STOPPED
    with pytest.raises(ServiceError) as excinfo:
        versions.version_stop(
            account=owner.membership.account, kind=ModelKind.CLASSIFIER, arn=version.arn
        )
    assert excinfo.value.code == "InvalidRequestException"


def test_delete_takes_the_tags_and_the_last_version_takes_the_model(db, owner):
    version = factories.version(owner, name="gone", version_name="v1")
    Tag.objects.create(account=version.account, resource_arn=version.arn, key="k", value="v")
    versions.version_delete(
        account=owner.membership.account, kind=ModelKind.CLASSIFIER, arn=version.arn
    )
    assert not ModelVersion.objects.filter(pk=version.pk).exists()
    assert not CustomModel.objects.filter(name="gone").exists()
    assert not Tag.objects.filter(resource_arn=version.arn).exists()


def test_a_training_version_cannot_be_deleted(db, owner):
    version = factories.version(owner, status=ModelStatus.TRAINING)
    with pytest.raises(ServiceError) as excinfo:
        versions.version_delete(
            account=owner.membership.account, kind=ModelKind.CLASSIFIER, arn=version.arn
        )
    assert excinfo.value.code == "ResourceInUseException"
    assert ModelVersion.objects.filter(pk=version.pk).exists()


def test_another_accounts_version_is_not_found(db, owner, outsider):
    version = factories.version(owner)
    for action in (versions.version_stop, versions.version_delete):
        with pytest.raises(ServiceError) as excinfo:
            action(account=outsider.membership.account, kind=ModelKind.CLASSIFIER, arn=version.arn)
        assert excinfo.value.code == "ResourceNotFoundException"
    assert ModelVersion.objects.get(pk=version.pk).status == ModelStatus.TRAINED


def test_a_queued_version_trains_to_trained_with_scores(transactional_db, owner):
    version = _create(owner)
    run_queued_jobs()
    version.refresh_from_db()
    assert version.status == ModelStatus.TRAINED, version.message
    assert version.progress == 1.0 and version.end_time is not None
    assert version.metrics["Accuracy"] > 0.9
    assert version.artifact_sha256
