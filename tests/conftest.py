"""Shared fixtures: real PostgreSQL, real Redis, three users, boto3 clients, real worker processes."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import django_rq
import pytest
from botocore.config import Config
from django.conf import settings
from django.db import connection

from tests import bad_inputs
from webapp.accounts.services.access_keys import access_key_create
from webapp.accounts.services.accounts import member_add, user_signup

# Every message users can see is checked for server paths at the end of the session.
pytest_plugins = ["tests.message_audit"]

REPO = Path(__file__).resolve().parent.parent
# Small slices of public sets, kept in the repository (tests/data/README.md says what and whence).
DATA = REPO / "tests" / "data"
# The bad training inputs are written by the suite itself, into a folder of its own.
BAD_INPUTS = bad_inputs.directory()
PASSWORD = "correct-horse-battery-9"


def pytest_sessionstart(session):
    # The suite is about the real thing: refuse to run on SQLite by accident.
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        raise pytest.UsageError("Tests need PostgreSQL: set DATABASE_URL (make test does).")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Django's default hasher is slow on purpose; tests sign many users up and in.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _flush_redis():
    conn = django_rq.get_connection("default")
    conn.flushdb()
    yield
    conn.flushdb()


@pytest.fixture
def owner(db):
    return user_signup(username="owner", password=PASSWORD, email="owner@example.com")


@pytest.fixture
def member(owner):
    return member_add(
        account=owner.membership.account, actor=owner, username="member", password=PASSWORD
    )


@pytest.fixture
def outsider(db):
    return user_signup(username="outsider", password=PASSWORD)


def make_client(base_url: str, user, *, secret: str | None = None, **config):
    key, real_secret = access_key_create(account=user.membership.account, user=user)
    return boto3.client(
        "comprehend",
        endpoint_url=base_url,
        region_name="us-east-1",
        aws_access_key_id=key.key_id,
        aws_secret_access_key=secret or real_secret,
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


@pytest.fixture
def api(live_server):
    """api(user) -> a boto3 Comprehend client signed with a fresh access key of that user."""
    return lambda user, **kw: make_client(live_server.url + "/", user, **kw)


def database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


class WorkerProcess:
    """A real `manage.py rqworker` process on the test database and Redis."""

    def __init__(self, extra_env: dict | None = None):
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url(),
            REDIS_URL=settings.REDIS_URL,
            DATA_ROOT=str(settings.DATA_ROOT),
        )
        env.update(extra_env or {})
        self.log = open(Path(settings.DATA_ROOT) / f"worker-{time.time_ns()}.log", "w+")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "manage.py"),
                "rqworker",
                "training",
                "inference",
                "default",
            ],
            env=env,
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL takes the work horse too
        )

    def _children(self) -> list[int]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:  # the parent pid
                found.append(int(stat.parent.name))
        return found

    def kill(self, sig=signal.SIGKILL):
        """Signal the worker and its work horses (which RQ puts in process groups of their own)."""
        if self.proc.poll() is not None:
            return
        horses = self._children()
        os.killpg(self.proc.pid, sig)
        if sig == signal.SIGKILL:
            for pid in horses:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()


@pytest.fixture
def start_worker(transactional_db):
    """start_worker(**env) -> a running worker process; all are killed after the test."""
    workers = []

    def start(**extra_env):
        worker = WorkerProcess({k: str(v) for k, v in extra_env.items()})
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill(signal.SIGTERM if worker.proc.poll() is None else signal.SIGKILL)


@pytest.fixture
def worker(start_worker):
    return start_worker()


def assert_postgres():
    assert connection.vendor == "postgresql"


def run_queued_jobs() -> None:
    """Run every queued job in this process with a burst SimpleWorker (service and API tests)."""
    from rq import SimpleWorker

    queues = [django_rq.get_queue(name) for name in ("training", "inference", "default")]
    SimpleWorker(queues, connection=queues[0].connection).work(burst=True)


@pytest.fixture
def store():
    """store(user, key, data) -> s3:// URI of a file written into that user's account store."""
    from webapp.core import storage

    def put(user, key: str, data) -> str:
        uri = storage.S3Uri("data", key)
        if isinstance(data, Path):
            data = data.read_bytes()
        import io

        storage.save_upload(user.membership.account.account_id, uri, io.BytesIO(data))
        return str(uri)

    return put


@pytest.fixture
def base_models(tmp_path, settings):
    """BASE_MODELS_DIR with the suite's tiny BERT installed as "tiny-bert", no package looked
    at, base models on, and budgets that train the tiny data sets in seconds."""
    from tests.base_model_factory import build_base_model

    folder = tmp_path / "base-models"
    build_base_model(folder / "tiny-bert")
    settings.BASE_MODELS_DIR = folder
    settings.BASE_MODEL_PACKAGES = []
    settings.BASE_MODELS_ENABLED = True
    settings.BASE_MODEL = ""
    settings.CLASSIFIER_TIME_BUDGET_SECONDS = 10
    settings.RECOGNIZER_TIME_BUDGET_SECONDS = 3
    return folder
