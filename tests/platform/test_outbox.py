"""A Redis outage delays background work but never half-writes it, and workers ride it out.

Each test points the queues at a private redis-server it starts and kills (the shared one is
never touched); the database keeps the work in the job outbox until Redis is back.
"""

import shutil
import socket
import subprocess
import time

import django_rq
import pytest
import redis
from rq.job import Job

from models_app.models import (
    AnalysisJob,
    Endpoint,
    EndpointStatus,
    ModelStatus,
    ModelVersion,
)
from models_app.services.version_status import version_transition
from tests import factories
from tests.classifier_cases import csv_bytes, csv_rows
from webapp.core.background import enqueue, new_job_id, report_progress, tracking, wait_for
from webapp.core.models import OutboxEntry

TRAINED = (ModelStatus.TRAINED, ModelStatus.TRAINED_WITH_WARNING)
# Reconcile every second and notice a dead worker quickly.
FAST = {"RECONCILE_INTERVAL_SECONDS": 1, "JOB_HEARTBEAT_SECONDS": 1}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test's own on a fixed free port, started and killed at will."""

    def __init__(self, tmp_path):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        assert wait_for(lambda: self._pings(client), 30), "the private redis-server did not start"

    @staticmethod
    def _pings(client) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def private_redis(settings, tmp_path):
    """Queues, rate limits and workers use a private Redis; the test decides when it runs."""
    server = PrivateRedis(tmp_path)
    settings.REDIS_URL = server.url
    settings.RQ_QUEUES = {
        name: {**config, "URL": server.url} for name, config in settings.RQ_QUEUES.items()
    }
    yield server
    server.kill()


def role(user) -> str:
    return f"arn:aws:iam::{user.membership.account.account_id}:role/Comprehend"


def _status(model, pk) -> str:
    return model.objects.values_list("status", flat=True).get(pk=pk)


def _in_redis(job_id: str) -> bool:
    return Job.exists(job_id, connection=django_rq.get_connection("training"))


def test_work_submitted_while_redis_is_down_runs_when_it_is_back(
    api, owner, store, start_worker, private_redis, settings
):
    # A limit that never bites, so classify calls go through the Redis token bucket.
    settings.INFERENCE_CHARS_PER_SECOND_PER_UNIT = 1_000_000
    client = api(owner)
    uri = store(owner, "train/outage.csv", csv_bytes(csv_rows({"sports": 12, "politics": 12})))
    create = dict(
        DocumentClassifierName="outage",
        VersionName="v1",
        DataAccessRoleArn=role(owner),
        InputDataConfig={"S3Uri": uri},
        LanguageCode="en",
        ClientRequestToken="outage-v1",
    )

    # Redis is down: the create commits and says so; its job waits in the outbox.
    arn = client.create_document_classifier(**create)["DocumentClassifierArn"]
    version = ModelVersion.objects.get(model__name="outage", version_name="v1")
    assert version.status == ModelStatus.SUBMITTED
    assert OutboxEntry.objects.filter(job_id=version.rq_job_id).exists()
    # The SDK's retry of the same create gets the same version, not ResourceInUseException.
    assert client.create_document_classifier(**create)["DocumentClassifierArn"] == arn
    assert ModelVersion.objects.filter(model__name="outage").count() == 1
    assert OutboxEntry.objects.count() == 1

    # A version still in the outbox stops without Redis.
    doomed = client.create_document_classifier(
        **{**create, "VersionName": "v2", "ClientRequestToken": "outage-v2"}
    )
    assert client.stop_training_document_classifier(
        DocumentClassifierArn=doomed["DocumentClassifierArn"]
    )
    stopped = ModelVersion.objects.get(model__name="outage", version_name="v2")
    assert stopped.status == ModelStatus.STOPPED
    assert not OutboxEntry.objects.filter(job_id=stopped.rq_job_id).exists()

    # Redis is back: a worker's reconciler pushes the outbox and the version trains.
    private_redis.start()
    worker = start_worker(**FAST)
    assert wait_for(lambda: _status(ModelVersion, version.pk) in TRAINED, 300), worker.output()
    assert not OutboxEntry.objects.exists()

    endpoint_arn = client.create_endpoint(
        EndpointName="outage", ModelArn=arn, DesiredInferenceUnits=1
    )["EndpointArn"]
    endpoint = Endpoint.objects.get(name="outage")
    assert wait_for(lambda: _status(Endpoint, endpoint.pk) == EndpointStatus.IN_SERVICE, 120), (
        worker.output()
    )
    store(owner, "in/docs.txt", b"sports alpha bravo\npolitics charlie delta\n")

    # Redis goes down again: real-time calls are still answered, and new work is committed.
    private_redis.kill()
    answer = client.classify_document(Text="sports alpha bravo", EndpointArn=endpoint_arn)
    assert answer["Classes"]
    job_id = client.start_document_classification_job(
        JobName="outage",
        DocumentClassifierArn=arn,
        InputDataConfig={"S3Uri": "s3://data/in/docs.txt", "InputFormat": "ONE_DOC_PER_LINE"},
        OutputDataConfig={"S3Uri": "s3://output/outage/"},
        DataAccessRoleArn=role(owner),
    )["JobId"]
    job = AnalysisJob.objects.get(job_id=job_id)
    assert OutboxEntry.objects.filter(job_id=job.rq_job_id).exists()
    client.update_endpoint(EndpointArn=endpoint_arn, DesiredInferenceUnits=2)
    endpoint.refresh_from_db()
    assert endpoint.status == EndpointStatus.UPDATING
    assert OutboxEntry.objects.filter(job_id=endpoint.rq_job_id).exists()
    assert worker.proc.poll() is None, worker.output()  # an idle worker waits for Redis

    # Redis is back (empty): the outbox is pushed, the same worker runs both.
    private_redis.start()
    assert wait_for(lambda: _status(AnalysisJob, job.pk) == "COMPLETED", 180), worker.output()
    assert wait_for(
        lambda: Endpoint.objects.filter(pk=endpoint.pk, current_units=2).exists(), 120
    ), worker.output()
    assert _status(Endpoint, endpoint.pk) == EndpointStatus.IN_SERVICE
    assert not OutboxEntry.objects.exists()


def test_the_reconciler_pushes_the_outbox_and_leaves_its_rows_alone(
    transactional_db, owner, private_redis
):
    from webapp.core.background import reconcile

    version = factories.version(owner, status=ModelStatus.SUBMITTED)
    job_id = new_job_id()
    ModelVersion.objects.filter(pk=version.pk).update(rq_job_id=job_id)
    enqueue("training", "tests.platform.test_outbox.quick_job", version.pk, job_id=job_id)
    assert OutboxEntry.objects.filter(job_id=job_id).exists()  # Redis was down at commit
    with pytest.raises(redis.ConnectionError):
        reconcile()  # the reconciler needs Redis; it changes nothing without it
    private_redis.start()
    assert reconcile() == 0  # waiting in the outbox is not lost
    assert _status(ModelVersion, version.pk) == ModelStatus.SUBMITTED
    assert not OutboxEntry.objects.exists()
    assert _in_redis(job_id)
    assert reconcile() == 0  # and once pushed, it is not pushed again
    assert django_rq.get_queue("training").count == 1


def quick_job(pk: int) -> None:
    with tracking(ModelVersion, pk):
        version_transition(pk, ModelStatus.TRAINING)
        version_transition(pk, ModelStatus.TRAINED)


def slow_job(pk: int) -> None:
    with tracking(ModelVersion, pk):
        version_transition(pk, ModelStatus.TRAINING)
        for i in range(90):  # longer than RQ's 30 s between heartbeats while a job runs
            report_progress(ModelVersion, pk, i / 90, f"step {i}")
            time.sleep(0.5)
        version_transition(pk, ModelStatus.TRAINED)


def _submit(user, func: str, name: str) -> ModelVersion:
    version = factories.version(user, name=name, status=ModelStatus.SUBMITTED)
    job_id = new_job_id()
    ModelVersion.objects.filter(pk=version.pk).update(rq_job_id=job_id)
    enqueue("training", func, version.pk, job_id=job_id)
    return version


def test_a_busy_worker_survives_a_redis_restart_and_keeps_working(
    owner, start_worker, private_redis
):
    private_redis.start()
    worker = start_worker(**FAST)
    busy = _submit(owner, "tests.platform.test_outbox.slow_job", "busy")
    assert wait_for(lambda: ModelVersion.objects.get(pk=busy.pk).progress > 0, 60), worker.output()
    private_redis.kill()
    # Past RQ's heartbeat while the job runs, which used to kill the worker.
    time.sleep(35)
    assert worker.proc.poll() is None, worker.output()
    private_redis.start()
    assert wait_for(lambda: _status(ModelVersion, busy.pk) == ModelStatus.TRAINED, 120), (
        worker.output()
    )
    later = _submit(owner, "tests.platform.test_outbox.quick_job", "later")
    assert wait_for(lambda: _status(ModelVersion, later.pk) == ModelStatus.TRAINED, 120), (
        worker.output()
    )
    assert worker.proc.poll() is None


def test_a_stop_that_needs_redis_answers_a_retryable_error_and_writes_nothing(
    api, owner, private_redis
):
    from botocore.exceptions import ClientError

    private_redis.start()
    version = _submit(owner, "tests.platform.test_outbox.quick_job", "queued")
    version.refresh_from_db()
    assert _in_redis(version.rq_job_id)  # pushed: only Redis can cancel it now
    private_redis.kill()
    client = api(owner)
    with pytest.raises(ClientError) as excinfo:
        client.stop_training_document_classifier(DocumentClassifierArn=version.arn)
    error = excinfo.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 503  # botocore retries it
    assert error["Error"]["Code"] == "ServiceUnavailableException"
    assert _status(ModelVersion, version.pk) == ModelStatus.SUBMITTED
