"""Iteration services called directly: the pool rules, stopping, and a worker killed mid-iteration."""

import io

import pytest

from flywheel_app.models import Flywheel, FlywheelIteration, IterationStatus
from flywheel_app.services import datasets, flywheels, iterations
from models_app.models import ModelStatus, ModelVersion
from tests.conftest import DATA, run_queued_jobs
from tests.trained import role, trained
from webapp.core import storage
from webapp.core.background import reconcile, wait_for
from webapp.core.errors import ServiceError

pytestmark = pytest.mark.usefixtures("transactional_db")

LAKE = "s3://lake/flywheels"
LABELS = ["accept_reservations", "account_blocked", "alarm"]


def account_of(user):
    return user.membership.account


def put(user, key: str, data: bytes) -> str:
    uri = storage.S3Uri("data", key)
    storage.save_upload(account_of(user).account_id, uri, io.BytesIO(data))
    return str(uri)


def csv_rows(labels, source="test.csv") -> list[str]:
    lines = (DATA / "clinc150" / source).read_text().splitlines()
    return [line for line in lines if line.split(",", 1)[0] in labels]


def flywheel_of_v1(api, store, user, name="pool") -> Flywheel:
    version = trained("classifier", api(user), user, store, name="intents", version_name="v1")
    uri = put(user, "train/three.csv", (DATA / "clinc150" / "three-intents.csv").read_bytes())
    ModelVersion.objects.filter(pk=version.pk).update(
        input_data_config={"DataFormat": "COMPREHEND_CSV", "S3Uri": uri}
    )
    flywheel = flywheels.flywheel_create(
        account=account_of(user),
        name=name,
        data_access_role_arn=role(user),
        data_lake_s3_uri=LAKE,
        active_model_arn=version.arn,
    )
    run_queued_jobs()
    flywheel.refresh_from_db()
    assert flywheel.status == "ACTIVE", flywheel.message
    return flywheel


def new_model_flywheel(user, name: str, labels=None) -> Flywheel:
    config = {"Mode": "MULTI_CLASS", **({"Labels": labels} if labels else {})}
    flywheel = flywheels.flywheel_create(
        account=account_of(user),
        name=name,
        data_access_role_arn=role(user),
        data_lake_s3_uri=LAKE,
        model_type="DOCUMENT_CLASSIFIER",
        task_config={"LanguageCode": "en", "DocumentClassificationConfig": config},
    )
    run_queued_jobs()
    return flywheel


def add_dataset(user, flywheel, name, rows, dataset_type="TRAIN"):
    uri = put(user, f"sets/{name}.csv", ("\n".join(rows) + "\n").encode())
    return datasets.dataset_create(
        account=account_of(user),
        flywheel_arn=flywheel.arn,
        name=name,
        dataset_type=dataset_type,
        input_data_config={
            "DataFormat": "COMPREHEND_CSV",
            "DocumentClassifierInputDataConfig": {"S3Uri": uri},
        },
    )


def test_a_text_of_the_test_pool_never_trains_and_duplicates_train_once(api, owner, store):
    flywheel = flywheel_of_v1(api, store, owner)
    new = csv_rows(LABELS)  # 30 documents v1 never saw
    v1_rows = (DATA / "clinc150" / "three-intents.csv").read_text().splitlines()
    # A TRAIN dataset with every new document twice and all of v1's documents again, and a
    # TEST dataset of the first six new ones.
    add_dataset(owner, flywheel, "repeats", new + new + v1_rows)
    add_dataset(owner, flywheel, "exam", new[:6], dataset_type="TEST")
    run_queued_jobs()
    iteration = iterations.flywheel_iteration_start(
        account=account_of(owner), flywheel_arn=flywheel.arn
    )
    flywheel.refresh_from_db()
    training, pool = iterations.build_data(flywheel, iteration, flywheel.active_version)

    texts = [text for text, _ in training]
    assert len(texts) == len(set(texts))
    assert not set(texts) & set(pool.texts)
    # The iteration brings TEST data, so nothing is held out of the new TRAIN documents: the
    # pool is the TEST dataset and the 30 documents v1 was tested on.
    assert len(pool) == 36 and len(set(pool.texts)) == 36
    assert pool.sources.count("dataset exam") == 6
    assert pool.sources.count(f"test set of {flywheel.active_version.arn}") == 30
    # Training: v1's 270 and the 24 new documents not in the TEST dataset.
    assert len(texts) == 294


def test_without_test_data_a_seeded_tenth_of_new_documents_is_held_out(api, owner, store):
    flywheel = flywheel_of_v1(api, store, owner)
    rows = csv_rows(LABELS)
    add_dataset(owner, flywheel, "fresh", rows)
    run_queued_jobs()
    iteration = iterations.flywheel_iteration_start(
        account=account_of(owner), flywheel_arn=flywheel.arn
    )
    flywheel.refresh_from_db()
    first = iterations.build_data(flywheel, iteration, flywheel.active_version)[1]
    again = iterations.build_data(flywheel, iteration, flywheel.active_version)[1]
    held = [t for t, s in zip(first.texts, first.sources, strict=True) if s.startswith("held")]
    assert len(held) == 3 and held == [
        t for t, s in zip(again.texts, again.sources, strict=True) if s.startswith("held")
    ]
    # One of each label (the share is stratified).
    gold = {g for g, s in zip(first.gold, first.sources, strict=True) if s.startswith("held")}
    assert gold == set(LABELS)


def test_an_iteration_stopped_in_the_queue_never_runs(api, owner, store):
    flywheel = flywheel_of_v1(api, store, owner)
    add_dataset(owner, flywheel, "fresh", csv_rows(LABELS))
    run_queued_jobs()
    iteration = iterations.flywheel_iteration_start(
        account=account_of(owner), flywheel_arn=flywheel.arn
    )
    stopped = iterations.iteration_stop(
        account=account_of(owner), flywheel_arn=flywheel.arn, iteration_id=iteration.iteration_id
    )
    assert stopped.status == IterationStatus.STOPPED and stopped.end_time
    run_queued_jobs()
    stopped.refresh_from_db()
    assert stopped.status == IterationStatus.STOPPED and stopped.trained_version is None
    with pytest.raises(ServiceError) as excinfo:
        iterations.iteration_stop(
            account=account_of(owner),
            flywheel_arn=flywheel.arn,
            iteration_id=iteration.iteration_id,
        )
    assert excinfo.value.code == "InvalidRequestException"
    assert "STOPPED" in excinfo.value.message
    # A stopped iteration used no data: the next one may start.
    again = iterations.flywheel_iteration_start(
        account=account_of(owner), flywheel_arn=flywheel.arn
    )
    assert again.iteration_id != iteration.iteration_id


def _busy_flywheel(owner, name: str) -> FlywheelIteration:
    """A new model's flywheel whose iteration trains on 6,750 documents of 150 labels."""
    flywheel = new_model_flywheel(owner, name)
    rows = (DATA / "clinc150" / "train.csv").read_text().splitlines()
    add_dataset(owner, flywheel, "clinc", rows)
    run_queued_jobs()
    return iterations.flywheel_iteration_start(account=account_of(owner), flywheel_arn=flywheel.arn)


def _version_training(iteration: FlywheelIteration) -> bool:
    iteration.refresh_from_db()
    return (
        iteration.trained_version_id is not None
        and ModelVersion.objects.get(pk=iteration.trained_version_id).status == ModelStatus.TRAINING
    )


@pytest.mark.worker
def test_stopping_an_iteration_stops_its_version(owner, worker):
    iteration = _busy_flywheel(owner, "stoppable")
    assert wait_for(lambda: _version_training(iteration), 120), worker.output()
    iterations.iteration_stop(
        account=account_of(owner),
        flywheel_arn=iteration.flywheel.arn,
        iteration_id=iteration.iteration_id,
    )
    assert wait_for(
        lambda: FlywheelIteration.objects.get(pk=iteration.pk).status in IterationStatus.FINAL,
        120,
    ), worker.output()
    iteration.refresh_from_db()
    assert iteration.status == IterationStatus.STOPPED, iteration.message
    assert iteration.trained_version.status == ModelStatus.STOPPED
    assert iteration.trained_metrics is None


@pytest.mark.worker
def test_a_worker_killed_mid_iteration_leaves_it_failed(owner, start_worker, settings):
    fast = {"JOB_HEARTBEAT_SECONDS": 1, "JOB_STALE_SECONDS": 4}
    doomed = start_worker(**fast)
    iteration = _busy_flywheel(owner, "doomed")
    assert wait_for(lambda: _version_training(iteration), 120), doomed.output()
    doomed.kill()
    settings.JOB_STALE_SECONDS = 4

    def failed() -> bool:
        reconcile()
        return FlywheelIteration.objects.get(pk=iteration.pk).status == IterationStatus.FAILED

    assert wait_for(failed, 60, interval=1)
    iteration.refresh_from_db()
    assert "stopped responding" in iteration.message
    assert iteration.trained_version.status == ModelStatus.IN_ERROR
    assert Flywheel.objects.get(pk=iteration.flywheel_id).active_version is None
