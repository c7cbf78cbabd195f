"""The analysis-job services, called directly: start, describe, stop and a whole run."""

import io
import json
import tarfile

import pytest

from models_app.models import AnalysisJob, JobKind, JobStatus, ModelKind
from models_app.services import analysis_jobs
from tests import factories
from tests.conftest import run_queued_jobs
from tests.trained import trained
from webapp.core import storage
from webapp.core.errors import ServiceError
from webapp.core.models import OutboxEntry


def _start(user, version, input_uri="s3://data/in/", **overrides):
    account = user.membership.account
    arguments = {
        "account": account,
        "kind": JobKind.CLASSIFICATION,
        "model_arn": version.arn,
        "input_data_config": {"S3Uri": input_uri, "InputFormat": "ONE_DOC_PER_LINE"},
        "output_data_config": {"S3Uri": "s3://results/out/"},
        "data_access_role_arn": f"arn:aws:iam::{account.account_id}:role/r",
    }
    arguments.update(overrides)
    return analysis_jobs.job_start(**arguments)


def test_start_records_a_submitted_job_and_its_split_task(db, owner, store):
    store(owner, "in/docs.txt", b"one\ntwo\n")
    job = _start(owner, factories.version(owner), job_name="nightly")
    assert job.status == JobStatus.SUBMITTED and job.job_name == "nightly"
    assert job.output_uri.startswith("s3://results/out/")
    assert job.output_uri.endswith("/output/output.tar.gz")
    assert job.tasks.count() == 1
    assert OutboxEntry.objects.filter(job_id=job.rq_job_id).exists()  # pushed on commit


def test_a_recognizer_cannot_run_a_classification_job(db, owner, store):
    store(owner, "in/docs.txt", b"one\n")
    recognizer = factories.version(owner, name="people", kind=ModelKind.RECOGNIZER)
    with pytest.raises(ServiceError) as excinfo:
        _start(owner, recognizer)
    assert excinfo.value.code == "InvalidRequestException"
    assert not AnalysisJob.objects.exists() and not OutboxEntry.objects.exists()


def test_another_accounts_job_is_not_found(db, owner, outsider, store):
    store(owner, "in/docs.txt", b"one\n")
    job = _start(owner, factories.version(owner))
    with pytest.raises(ServiceError) as excinfo:
        analysis_jobs.job_describe(
            account=outsider.membership.account, kind=JobKind.CLASSIFICATION, job_id=job.job_id
        )
    assert excinfo.value.code == "JobNotFoundException"
    with pytest.raises(ServiceError) as excinfo:
        analysis_jobs.job_stop(account=outsider.membership.account, kind=None, job_id=job.job_id)
    assert excinfo.value.code == "JobNotFoundException"
    assert AnalysisJob.objects.get(pk=job.pk).status == JobStatus.SUBMITTED


def test_stopping_a_job_no_worker_holds_stops_it_at_once(db, owner, store):
    store(owner, "in/docs.txt", b"one\n")
    job = _start(owner, factories.version(owner))
    stopped = analysis_jobs.job_stop(account=owner.membership.account, kind=None, job_id=job.job_id)
    assert stopped.status == JobStatus.STOPPED
    with pytest.raises(ServiceError) as excinfo:
        AnalysisJob.objects.filter(pk=job.pk).update(status=JobStatus.COMPLETED)
        analysis_jobs.job_stop(account=owner.membership.account, kind=None, job_id=job.job_id)
    assert excinfo.value.code == "InvalidRequestException"


def test_a_job_runs_to_completed_with_one_answer_per_line(transactional_db, api, owner, store):
    version = trained(
        ModelKind.CLASSIFIER, api(owner), owner, store, name="intents", version_name="v1"
    )
    lines = ["what is my balance", "book me a flight to paris", "tell me a joke"]
    store(owner, "in/docs.txt", ("\n".join(lines) + "\n").encode())
    job = _start(owner, version)
    run_queued_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED, job.message
    assert job.documents_done == len(lines) and job.documents_failed == 0
    output = storage.parse_uri(job.output_uri, field="OutputDataConfig.S3Uri")
    with storage.open_read(owner.membership.account.account_id, output) as handle:
        archive = tarfile.open(fileobj=io.BytesIO(handle.read()), mode="r:gz")
    member = archive.extractfile(archive.getmembers()[0])
    answers = [json.loads(row) for row in member.read().decode().splitlines()]
    assert [a["Line"] for a in answers] == ["0", "1", "2"]  # strings, as Comprehend writes them
    assert all(a["Classes"] for a in answers)
