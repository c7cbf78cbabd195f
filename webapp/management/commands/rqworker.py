import logging
import threading
import time

import redis
from django_rq.management.commands.rqworker import Command as RQWorkerCommand
from django_rq.utils import reset_db_connections
from django_rq.workers import get_worker
from rq import Worker
from rq.exceptions import StopRequested
from rq.logutils import setup_loghandlers

from webapp.core.background import reconcile_loop

log = logging.getLogger(__name__)

# Restarts after a Redis outage back off up to this many seconds between tries.
MAX_BACKOFF_SECONDS = 30.0


class ResilientWorker(Worker):
    """RQ's forking worker, whose running job outlives a Redis outage.

    RQ refreshes the worker's and the job's keys in Redis while the work horse runs; when Redis
    is unreachable that raised and took the worker down mid-job. The job's own state lives in
    the database (webapp/core/background.py), so a missed refresh is only logged.
    """

    def maintain_heartbeats(self, job, execution):
        try:
            super().maintain_heartbeats(job, execution)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.log.warning("Redis is unreachable while job %s runs; it runs on: %s", job.id, exc)


class Command(RQWorkerCommand):
    """django-rq's worker, plus the reconciler; it reconnects after a Redis outage."""

    help = RQWorkerCommand.__doc__

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        level = "DEBUG" if verbosity >= 2 else "WARNING" if verbosity == 0 else "INFO"
        setup_loghandlers(level)
        stop = threading.Event()
        threading.Thread(
            target=reconcile_loop, args=(stop,), daemon=True, name="textwheel-reconciler"
        ).start()
        try:
            self._work_until_stopped(args, options, level)
        finally:
            stop.set()

    def _work_until_stopped(self, queues, options, level):
        once = options["burst"] or options["max_jobs"] or options["max_idle_time"]
        delay = 1.0
        while True:
            started = time.monotonic()
            worker = None
            try:
                worker = get_worker(
                    *queues,
                    worker_class=options["worker_class"] or ResilientWorker,
                    queue_class=options["queue_class"],
                    job_class=options["job_class"],
                    name=options["name"],
                    worker_ttl=options["worker_ttl"],
                    serializer=options["serializer"],
                )
                reset_db_connections()  # no connection may cross the fork into a work horse
                worker.work(
                    burst=options["burst"],
                    with_scheduler=options["with_scheduler"],
                    logging_level=level,
                    max_jobs=options["max_jobs"],
                    max_idle_time=options["max_idle_time"],
                )
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("the worker lost Redis: %s", exc)
            asked_to_stop = worker is not None and worker._shutdown_requested_date is not None
            if once or asked_to_stop:
                return
            # A worker that ran for a while had a healthy start: back off from the beginning.
            if time.monotonic() - started > 60:
                delay = 1.0
            log.warning("the worker stopped; starting it again in %.0f s", delay)
            try:
                time.sleep(delay)
            except StopRequested:  # SIGTERM reached the stopped worker's handler
                return
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
