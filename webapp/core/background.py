"""Work in RQ workers with the database as the truth about status.

A row that has work under way (a model version training, a job running) carries the RQ job id
and a heartbeat. The job body runs inside `tracking()`, which keeps the heartbeat fresh from a
thread and turns any exception into the row's error state with a readable reason. The reconciler
(run every few seconds by each `rqworker`, one at a time across machines) finds rows whose RQ job
failed or vanished, or whose heartbeat went stale because the worker was killed, and fails them.

Jobs reach RQ through an outbox (`webapp.core.models.OutboxEntry`) written in the caller's transaction:
after the commit the entry is pushed to Redis and deleted; if Redis is down the request still
succeeds and the reconciler pushes the entry when Redis answers again, so a Redis outage delays
work instead of half-writing it.

A status changes only through `transition()`: one conditional UPDATE, so of two racing changes
(a stop request and the end of training) exactly one wins.
"""

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import django_rq
import redis
from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    models,
    transaction,
)
from django.utils import timezone
from rq.exceptions import NoSuchJobError
from rq.job import Job

from webapp.core.errors import ServiceError
from webapp.core.models import OutboxEntry

log = logging.getLogger(__name__)


class TrackedWork(models.Model):
    """Fields every resource with background work has."""

    rq_job_id = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    progress = models.FloatField(default=0.0)
    progress_step = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True


@dataclass(frozen=True)
class TrackedKind:
    model: type
    queued: tuple[str, ...]  # waiting in a queue: the RQ job must still exist
    running: tuple[str, ...]  # a worker holds it: the heartbeat must stay fresh
    fail: Callable[[int, str], None]  # moves a dead row to its error (or stopped) state


_KINDS: list[TrackedKind] = []


def register(kind: TrackedKind) -> None:
    _KINDS.append(kind)


def new_job_id() -> str:
    return uuid.uuid4().hex


def enqueue(queue: str, func, *args, job_id: str, **kwargs) -> None:
    """Record the job in the outbox with the caller's transaction; push it to RQ on commit."""
    path = func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"
    entry = OutboxEntry.objects.create(
        job_id=job_id, queue=queue, func=path, args=list(args), kwargs=kwargs
    )
    transaction.on_commit(lambda: _push_after_commit(entry.pk))


def queue_unavailable() -> ServiceError:
    # 503 is retried by every botocore retry mode; nothing was written when this is raised.
    return ServiceError(
        "ServiceUnavailableException",
        "The job queue is unavailable for a moment; retry the request.",
        503,
    )


def _push(pk: int) -> bool:
    """Hand one outbox entry to RQ and delete it; False when another process has it."""
    with transaction.atomic():
        entry = OutboxEntry.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if entry is None:
            return False
        rq_queue = django_rq.get_queue(entry.queue, commit_mode="auto")
        # Pushed before, but the delete was lost (the database went away): never run it twice.
        if not Job.exists(entry.job_id, connection=rq_queue.connection):
            rq_queue.enqueue(
                entry.func,
                *entry.args,
                job_id=entry.job_id,
                job_timeout=settings.RQ_QUEUES[entry.queue]["DEFAULT_TIMEOUT"],
                result_ttl=86400,
                failure_ttl=86400,
                **entry.kwargs,
            )
        entry.delete()
    return True


def _push_after_commit(pk: int) -> None:
    try:
        _push(pk)
    except Exception as exc:  # the entry stays; the reconciler pushes it when Redis is back
        log.warning("job outbox entry %s waits for the queue: %s", pk, exc)


def drain_outbox() -> int:
    """Push every waiting outbox entry to RQ, oldest first; returns how many were pushed."""
    pushed = 0
    for pk in OutboxEntry.objects.values_list("pk", flat=True):
        if _push(pk):
            pushed += 1
    if pushed:
        log.info("pushed %s job(s) from the outbox to the queue", pushed)
    return pushed


def cancel_waiting(job_id: str) -> bool:
    """Cancel a job no worker has started (True), or say a worker has it (False)."""
    if OutboxEntry.objects.filter(job_id=job_id).delete()[0]:
        return True
    try:
        job = _rq_job(job_id)
        if job is None or job.get_status(refresh=True) in ("queued", "deferred", "scheduled"):
            if job is not None:
                job.cancel()
            return True
    except redis.RedisError:
        raise queue_unavailable() from None
    return False


def report_progress(model: type, pk: int, fraction: float, step: str) -> None:
    """Record progress on the row itself, where pages and the API read it."""
    try:
        model.objects.filter(pk=pk).update(
            progress=max(0.0, min(1.0, float(fraction))),
            progress_step=step[:200],
            heartbeat_at=timezone.now(),
        )
    except (OperationalError, InterfaceError) as exc:
        # A database restart must not fail the work; the next report reconnects.
        if connection.in_atomic_block:
            raise
        log.warning("progress of %s %s not recorded: %s", model.__name__, pk, exc)
        connection.close()


def transition(model: type, pk: int, *, to: str, allowed_from=None, **fields) -> bool:
    """Move a row to status `to` in one conditional UPDATE; False if its status did not allow it."""
    if allowed_from is None:
        # The resource's status choices carry the table of which status may follow which.
        allowed_from = type(to).ALLOWED_FROM[to]
    return model.objects.filter(pk=pk, status__in=allowed_from).update(status=to, **fields) == 1


def through_db_restart(write: Callable[[], object], *, patience: float = 120.0):
    """Run `write`, retrying while the database restarts, for up to `patience` seconds.

    For the one write that records finished work: losing it to a restart would throw away a
    training that succeeded. `write` must be safe to repeat (a conditional update is).
    """
    deadline = time.monotonic() + patience
    delay = 0.5
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            log.warning("database unavailable, retrying in %.1f s: %s", delay, exc)
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def _beat(model: type, pk: int, stop: threading.Event) -> None:
    # A heartbeat must never kill the job, and must outlive a database restart: a thread that
    # gave up would let the reconciler fail work that is still running.
    try:
        while not stop.wait(settings.JOB_HEARTBEAT_SECONDS):
            try:
                model.objects.filter(pk=pk).update(heartbeat_at=timezone.now())
            except Exception as exc:
                log.warning("heartbeat for %s %s missed: %s", model.__name__, pk, exc)
                connection.close()
    finally:
        connection.close()


def failure_reason(exc: BaseException) -> str:
    """The message a user sees when work fails."""
    if isinstance(exc, ServiceError):
        return exc.message
    known = getattr(exc, "user_message", None)
    if known:
        return known
    # An unexpected exception's text can carry server paths or reprs: it goes to the log only.
    return (
        f"An internal error stopped the work ({type(exc).__name__}); the worker's log has the "
        "details."
    )


@contextlib.contextmanager
def tracking(kind_model: type, pk: int):
    """Keep the row's heartbeat fresh while the body runs; fail the row if the body raises."""
    kind = next(k for k in _KINDS if k.model is kind_model)
    kind_model.objects.filter(pk=pk).update(heartbeat_at=timezone.now())
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(kind_model, pk, stop), daemon=True)
    beat.start()
    try:
        yield
    except BaseException as exc:
        log.exception("work on %s %s failed", kind_model.__name__, pk)
        kind.fail(pk, failure_reason(exc))
        raise
    finally:
        stop.set()
        beat.join(timeout=5)


def _rq_job(job_id: str):
    if not job_id:
        return None
    try:
        return Job.fetch(job_id, connection=django_rq.get_connection("default"))
    except NoSuchJobError:
        return None


def _job_failure_text(job) -> str:
    result = job.latest_result() if job is not None else None
    text = (getattr(result, "exc_string", None) or "").strip().splitlines()
    return text[-1] if text else "unknown error"


def reconcile() -> int:
    """Push the outbox, then fail rows whose background work died; returns rows fixed."""
    drain_outbox()
    fixed = 0
    stale_before = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS)
    for kind in _KINDS:
        rows = list(
            kind.model.objects.filter(status__in=kind.queued + kind.running).only(
                "pk", "status", "rq_job_id", "heartbeat_at"
            )
        )
        # Read after the rows: an entry leaves the outbox only once RQ holds its job, so a row's
        # job is either still waiting here or findable in Redis below.
        waiting = set(OutboxEntry.objects.values_list("job_id", flat=True))
        for row in rows:
            if row.rq_job_id in waiting:
                continue
            reason = None
            job = _rq_job(row.rq_job_id)
            if row.status in kind.running and row.heartbeat_at and row.heartbeat_at < stale_before:
                reason = (
                    "The worker running this stopped responding (it was killed or crashed); "
                    f"last heard from at {row.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC."
                )
            elif job is None:
                if row.status in kind.queued or row.heartbeat_at is None:
                    reason = (
                        "Its background job was lost before it finished (the queue was cleared)."
                    )
            elif job.is_failed:
                reason = f"The background job failed: {_job_failure_text(job)}"
            elif job.is_stopped or job.is_canceled:
                reason = "The background job was stopped before it finished."
            if reason:
                log.warning("reconciler: %s %s: %s", kind.model.__name__, row.pk, reason)
                kind.fail(row.pk, reason)
                fixed += 1
    return fixed


def reconcile_loop(stop: threading.Event) -> None:
    """Run the reconciler every RECONCILE_INTERVAL_SECONDS; one worker at a time does it."""
    conn = django_rq.get_connection("default")
    interval = settings.RECONCILE_INTERVAL_SECONDS
    while not stop.is_set():
        try:
            if conn.set("textwheel:reconciler-lock", "1", nx=True, px=int(interval * 900)):
                close_old_connections()
                reconcile()
        except redis.RedisError as exc:  # an outage: the outbox keeps the work until it ends
            log.warning("reconciler waits for Redis: %s", exc)
        except Exception:
            log.exception("reconciler run failed")
        finally:
            connection.close()
        stop.wait(interval)


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass (used by tests and benches)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
