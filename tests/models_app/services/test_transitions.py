"""The one status machine: which moves each resource allows, what they set, and who wins a race."""

import threading
import uuid

from django.db import connection, connections, transaction
from django.utils import timezone

from models_app.models import (
    AnalysisJob,
    Endpoint,
    EndpointStatus,
    JobKind,
    JobStatus,
    ModelKind,
    ModelStatus,
    ModelVersion,
)
from models_app.services import versions
from models_app.services.analysis_jobs import job_transition
from models_app.services.endpoints import endpoint_transition
from models_app.services.version_status import version_fail_dead, version_transition
from tests import factories
from webapp.core import background

# Written out rather than read from the code, so that a changed table fails here.
V = ModelStatus
VERSION_MOVES = {
    V.TRAINING: {V.SUBMITTED},
    V.TRAINED: {V.TRAINING, V.STOP_REQUESTED},
    V.TRAINED_WITH_WARNING: {V.TRAINING, V.STOP_REQUESTED},
    V.IN_ERROR: {V.SUBMITTED, V.TRAINING},
    V.STOP_REQUESTED: {V.SUBMITTED, V.TRAINING},
    V.STOPPED: {V.STOP_REQUESTED},
    V.DELETING: {V.TRAINED, V.TRAINED_WITH_WARNING, V.IN_ERROR, V.STOPPED},
}
E = EndpointStatus
ENDPOINT_MOVES = {
    E.IN_SERVICE: {E.CREATING, E.UPDATING},
    E.UPDATING: {E.IN_SERVICE, E.FAILED},
    E.FAILED: {E.CREATING, E.UPDATING},
    E.DELETING: {E.CREATING, E.IN_SERVICE, E.UPDATING, E.FAILED},
}
J = JobStatus
JOB_MOVES = {
    J.IN_PROGRESS: {J.SUBMITTED},
    J.COMPLETED: {J.IN_PROGRESS, J.STOP_REQUESTED},
    J.FAILED: {J.SUBMITTED, J.IN_PROGRESS, J.STOP_REQUESTED},
    J.STOP_REQUESTED: {J.SUBMITTED, J.IN_PROGRESS},
    J.STOPPED: {J.STOP_REQUESTED},
}


def _endpoint(user, status, name="ep"):
    return Endpoint.objects.create(
        account=user.membership.account, kind=ModelKind.CLASSIFIER, name=name, status=status
    )


def _job(user, status):
    return AnalysisJob.objects.create(
        account=user.membership.account,
        job_id=uuid.uuid4().hex,
        kind=JobKind.CLASSIFICATION,
        output_uri="s3://out/output.tar.gz",
        status=status,
    )


def test_each_version_status_follows_exactly_the_ones_its_table_names(owner):
    for n, (to, allowed) in enumerate(VERSION_MOVES.items()):
        for m, start in enumerate(ModelStatus):
            version = factories.version(owner, version_name=f"v{n}-{m}", status=start)
            moved = version_transition(version.pk, to, message="moved")
            version.refresh_from_db()
            assert moved == (start in allowed), (start, to)
            assert version.status == (to if moved else start), (start, to)
            assert version.message == ("moved" if moved else ""), (start, to)


def test_each_endpoint_status_follows_exactly_the_ones_its_table_names(owner):
    for n, (to, allowed) in enumerate(ENDPOINT_MOVES.items()):
        for m, start in enumerate(EndpointStatus):
            endpoint = _endpoint(owner, start, name=f"ep{n}-{m}")
            moved = endpoint_transition(endpoint.pk, to, message="moved")
            endpoint.refresh_from_db()
            assert moved == (start in allowed), (start, to)
            assert endpoint.status == (to if moved else start), (start, to)
            assert endpoint.message == ("moved" if moved else ""), (start, to)


def test_each_job_status_follows_exactly_the_ones_its_table_names(owner):
    for to, allowed in JOB_MOVES.items():
        for start in JobStatus:
            job = _job(owner, start)
            moved = job_transition(job.pk, to, message="moved")
            job.refresh_from_db()
            assert moved == (start in allowed), (start, to)
            assert job.status == (to if moved else start), (start, to)
            assert job.message == ("moved" if moved else ""), (start, to)


def test_a_version_that_ends_records_when_and_one_that_stops_does_not_yet(owner):
    training = factories.version(owner, version_name="a", status=ModelStatus.TRAINING)
    before = timezone.now()
    assert version_transition(training.pk, ModelStatus.STOP_REQUESTED, progress_step="Stopping")
    training.refresh_from_db()
    assert training.end_time is None and training.training_end_time is None
    assert training.progress_step == "Stopping"
    assert version_transition(training.pk, ModelStatus.STOPPED, message="Training was stopped.")
    training.refresh_from_db()
    assert training.end_time >= before
    assert training.training_end_time == training.end_time
    assert training.message == "Training was stopped."

    given = timezone.now() - timezone.timedelta(hours=1)
    other = factories.version(owner, version_name="b", status=ModelStatus.TRAINING)
    assert version_transition(other.pk, ModelStatus.TRAINED, end_time=given, progress=1.0)
    other.refresh_from_db()
    assert (other.end_time, other.training_end_time, other.progress) == (given, given, 1.0)


def test_a_refused_move_changes_no_field(owner):
    version = factories.version(owner, status=ModelStatus.TRAINED, progress=1.0)
    assert not version_transition(
        version.pk, ModelStatus.IN_ERROR, message="late failure", progress_step="Failed"
    )
    version.refresh_from_db()
    assert (version.status, version.message, version.progress_step) == (
        ModelStatus.TRAINED,
        "",
        "",
    )
    assert version.end_time is None and version.training_end_time is None

    job = _job(owner, JobStatus.COMPLETED)
    assert not job_transition(job.pk, JobStatus.FAILED, message="late")
    job.refresh_from_db()
    assert (job.status, job.message, job.end_time) == (JobStatus.COMPLETED, "", None)

    endpoint = _endpoint(owner, EndpointStatus.CREATING)
    stamp = endpoint.updated_at
    assert not endpoint_transition(endpoint.pk, EndpointStatus.UPDATING, message="late")
    endpoint.refresh_from_db()
    assert (endpoint.status, endpoint.message, endpoint.updated_at) == (
        EndpointStatus.CREATING,
        "",
        stamp,
    )


def test_an_endpoint_move_stamps_its_update_time(owner):
    endpoint = _endpoint(owner, EndpointStatus.CREATING)
    stamp = endpoint.updated_at
    assert endpoint_transition(endpoint.pk, EndpointStatus.IN_SERVICE, progress=1.0)
    endpoint.refresh_from_db()
    assert endpoint.updated_at > stamp and endpoint.progress == 1.0


def test_a_job_records_its_end_only_when_it_ends(owner):
    job = _job(owner, JobStatus.SUBMITTED)
    assert job_transition(job.pk, JobStatus.IN_PROGRESS, progress_step="Reading the input")
    job.refresh_from_db()
    assert job.end_time is None and job.progress_step == "Reading the input"
    before = timezone.now()
    assert job_transition(job.pk, JobStatus.COMPLETED, message="done", progress=1.0)
    job.refresh_from_db()
    assert job.end_time >= before and (job.message, job.progress) == ("done", 1.0)


def test_the_table_comes_from_the_status_choices_unless_the_caller_names_one(owner):
    version = factories.version(owner, status=ModelStatus.SUBMITTED)
    assert not background.transition(ModelVersion, version.pk, to=ModelStatus.TRAINED)
    assert background.transition(
        ModelVersion, version.pk, to=ModelStatus.TRAINED, allowed_from=(ModelStatus.SUBMITTED,)
    )
    version.refresh_from_db()
    assert version.status == ModelStatus.TRAINED
    # The platform layer sets only what it is given: no end time without the version's rule.
    assert version.end_time is None


def test_a_stop_asked_for_after_training_ended_loses(owner):
    version = factories.version(owner, status=ModelStatus.TRAINING)
    assert versions.finish_trained(version, warnings=[])
    assert not version_transition(version.pk, ModelStatus.STOP_REQUESTED)
    version.refresh_from_db()
    assert version.status == ModelStatus.TRAINED


def test_a_stop_the_trainer_did_not_see_still_ends_trained(owner):
    version = factories.version(owner, status=ModelStatus.TRAINING)
    assert version_transition(version.pk, ModelStatus.STOP_REQUESTED)
    assert versions.finish_trained(version, warnings=[])
    # The reconciler, finding the work gone, must not turn the finished version into STOPPED.
    version_fail_dead(version.pk, "The worker died.")
    version.refresh_from_db()
    assert (version.status, version.message) == (ModelStatus.TRAINED, "")


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_of_two_racing_moves_the_second_sees_the_firsts_commit_and_loses(transactional_db, owner):
    """The trainer's TRAINED and the reconciler's STOPPED both follow STOP_REQUESTED: one wins."""
    version = factories.version(owner, status=ModelStatus.STOP_REQUESTED)
    trained = threading.Event()
    commit = threading.Event()
    results = {}

    def trainer():
        try:
            with transaction.atomic():
                results["trained"] = versions.finish_trained(version, warnings=[])
                trained.set()
                commit.wait(120)
        finally:
            connections.close_all()

    def reconciler():
        try:
            results["stopped"] = version_transition(
                version.pk, ModelStatus.STOPPED, message="Training was stopped."
            )
        finally:
            connections.close_all()

    first = threading.Thread(target=trainer)
    first.start()
    assert trained.wait(120)
    second = threading.Thread(target=reconciler)
    second.start()
    # The second UPDATE waits on the row the first holds, then re-reads its status.
    waited = background.wait_for(_waiting_on_a_lock, 120, interval=0.05)
    commit.set()
    first.join()
    second.join()
    assert waited, "the second move never waited on the first's row lock"
    assert results == {"trained": True, "stopped": False}
    version.refresh_from_db()
    assert (version.status, version.message) == (ModelStatus.TRAINED, "")
