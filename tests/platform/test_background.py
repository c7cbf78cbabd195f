"""The database stays the truth about status when jobs raise or workers die."""

import django_rq
import pytest
from rq import SimpleWorker

from models_app.models import ModelStatus, ModelVersion
from tests import factories
from tests.jobs import long_job, raising_job
from webapp.core import background
from webapp.core.background import enqueue, new_job_id, reconcile, wait_for


def _submit(user, func):
    version = factories.version(user, status=ModelStatus.SUBMITTED)
    job_id = new_job_id()
    ModelVersion.objects.filter(pk=version.pk).update(rq_job_id=job_id)
    enqueue("training", func, version.pk, job_id=job_id)
    return version


def _run_burst():
    queue = django_rq.get_queue("training")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_a_job_that_raises_leaves_the_version_in_error(transactional_db, owner):
    version = _submit(owner, raising_job)
    _run_burst()
    version.refresh_from_db()
    assert version.status == ModelStatus.IN_ERROR
    # The exception's own text stays in the worker's log: it may carry paths or reprs.
    assert version.message.startswith("An internal error stopped the work (ValueError)")
    assert "garbage" not in version.message
    assert version.end_time is not None


def test_the_reconciler_fails_a_queued_version_whose_job_vanished(transactional_db, owner):
    version = _submit(owner, raising_job)
    django_rq.get_connection("default").flushdb()  # Redis lost everything
    assert reconcile() == 1
    version.refresh_from_db()
    assert version.status == ModelStatus.IN_ERROR
    assert "lost" in version.message


def test_the_reconciler_leaves_healthy_work_alone(transactional_db, owner):
    _submit(owner, long_job)  # queued, job present in Redis
    assert reconcile() == 0


@pytest.mark.worker
def test_a_killed_worker_leaves_the_version_in_error_within_a_minute(start_worker, owner):
    fast = {"JOB_HEARTBEAT_SECONDS": 1, "JOB_STALE_SECONDS": 6, "RECONCILE_INTERVAL_SECONDS": 1}
    doomed = start_worker(**fast)
    version = _submit(owner, long_job)
    assert wait_for(lambda: ModelVersion.objects.get(pk=version.pk).progress > 0, 60), (
        doomed.output()
    )
    start_worker(**fast)  # a surviving worker, whose reconciler notices the dead one
    doomed.kill()
    assert wait_for(
        lambda: ModelVersion.objects.get(pk=version.pk).status == ModelStatus.IN_ERROR, 60
    )
    version.refresh_from_db()
    assert "stopped responding" in version.message
    assert version.progress > 0 and version.progress_step == "Failed"


@pytest.mark.worker
def test_a_real_worker_reports_a_raising_job(worker, owner):
    version = _submit(owner, raising_job)
    assert wait_for(
        lambda: ModelVersion.objects.get(pk=version.pk).status == ModelStatus.IN_ERROR, 60
    ), worker.output()
    version.refresh_from_db()
    assert "(ValueError)" in version.message
    assert background.failure_reason(ValueError("x")).startswith("An internal error")


def test_an_unexpected_failure_names_no_server_path():
    reason = background.failure_reason(
        FileNotFoundError(2, "No such file or directory", "/srv/textwheel/artifacts/1/model.bin")
    )
    assert reason.startswith("An internal error stopped the work (FileNotFoundError)")
    assert "/srv" not in reason and "model.bin" not in reason
