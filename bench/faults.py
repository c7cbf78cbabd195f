"""Fault bench: kill the worker, restart Redis, restart PostgreSQL under load, and see what holds.

Everything runs on servers of the bench's own: a PostgreSQL cluster made with initdb in a
temporary folder, a redis-server (append-only file on, as a production Redis for RQ should run),
and `manage.py serve` (gunicorn, one RQ worker) on them with a DATA_ROOT of its own, so nothing
else using the machine's PostgreSQL or Redis is disturbed. Under 8 ClassifyDocument clients and
one training at a time it

  1. kills the RQ worker and its work horse (SIGKILL) while a training runs, and submits the
     next training at once;
  2. kills redis-server while that training runs, submits a small training during the outage,
     and starts Redis again after --redis-down seconds;
  3. stops PostgreSQL (fast shutdown) while a training still runs and starts it again after
     --pg-down seconds;

then waits until nothing is left to do and reports the errors clients saw (by code, and whether
botocore retries them), the time to recover from each fault, and where every resource ended.

    .venv/bin/python bench/faults.py                    # data from ../shared/data
    .venv/bin/python bench/faults.py --data DIR --out faults.json
"""

import argparse
import collections
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
TARGET = "Comprehend_20171127."
# What botocore's standard and legacy retry modes retry (besides connection errors).
RETRYABLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# The bench's own servers


class Postgres:
    """A throwaway PostgreSQL cluster (run as `postgres` when the bench runs as root)."""

    def __init__(self, root: Path):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins:
            raise SystemExit("No PostgreSQL server binaries under /usr/lib/postgresql.")
        self.bin = bins[-1].parent
        self.dir = root / "pg"
        self.dir.mkdir()
        self.port = _free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.dir), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/textwheel"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.dir), "-o", options, "-l", str(self.dir / "log"), "-w",
                  "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-m", "fast", "-w", "stop")

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute('CREATE DATABASE "textwheel"')


class Redis:
    def __init__(self, root: Path):
        self.dir = root / "redis"
        self.dir.mkdir()
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self) -> None:
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
                "yes",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)


def _children(pid: int) -> dict[int, str]:
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(stat.parent.name)] = cmd
        except (OSError, ValueError):
            continue
    return found


class Serve:
    """`manage.py serve`: gunicorn and one RQ worker, restarted by serve when they exit."""

    def __init__(self, env: dict, root: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = open(root / "serve.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "manage.py"), "serve", "--port", str(self.port)],
            env=env,
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("serve did not start; see " + self.log.name)

    def worker(self) -> int | None:
        return next((p for p, cmd in _children(self.proc.pid).items() if "rqworker" in cmd), None)

    def kill_worker(self) -> int:
        """SIGKILL the RQ worker and its work horse, as an out-of-memory kill would."""
        pid = self.worker()
        horses = list(_children(pid))
        os.kill(pid, signal.SIGKILL)
        for horse in horses:
            try:
                os.kill(horse, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pid

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# Clients: plain SigV4-signed calls with no retries, so every error a client could see is counted


def _client_thread(url, key_id, secret, texts, endpoint_arn, stop, seed, records):
    import http.client

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    parsed = urlparse(url)
    signer = SigV4Auth(Credentials(key_id, secret), "comprehend", "us-east-1")
    rng = random.Random(seed)
    conn = None
    while not stop.is_set():
        body = json.dumps({"Text": rng.choice(texts), "EndpointArn": endpoint_arn}).encode()
        request = AWSRequest(
            method="POST",
            url=url,
            data=body,
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": TARGET + "ClassifyDocument",
                "Host": f"{parsed.hostname}:{parsed.port}",
            },
        )
        signer.add_auth(request)
        try:
            if conn is None:
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            conn.request("POST", "/", body=body, headers=dict(request.headers))
            response = conn.getresponse()
            data = response.read()
            if response.status == 200:
                records.append((time.time(), "ok"))
                continue
            try:
                code = json.loads(data).get("__type", "")
            except ValueError:
                code = "not JSON"
            records.append((time.time(), f"{response.status} {code}"))
        except (OSError, http.client.HTTPException) as exc:
            if conn is not None:
                conn.close()
            conn = None
            records.append((time.time(), f"connection {type(exc).__name__}"))
            time.sleep(0.05)


def _client_process(args):
    url, key_id, secret, texts, endpoint_arn, threads, seed, stop_at_file = args
    stop = threading.Event()
    lists = [[] for _ in range(threads)]
    workers = [
        threading.Thread(
            target=_client_thread,
            args=(url, key_id, secret, texts, endpoint_arn, stop, seed * 100 + n, lists[n]),
            daemon=True,
        )
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    while not Path(stop_at_file).exists():
        time.sleep(0.2)
    stop.set()
    for worker in workers:
        worker.join(90)
    return [record for found in lists for record in found]


def retryable(outcome: str) -> bool:
    if outcome.startswith("connection"):
        return True
    status, _, code = outcome.partition(" ")
    return int(status) >= 500 or code in RETRYABLE_CODES


# The run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--redis-down", type=float, default=10.0)
    parser.add_argument("--pg-down", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="textwheel-faults-"))
    os.chmod(root, 0o755)  # the postgres user must reach its cluster inside
    pg = Postgres(root)
    pg.start()
    pg.create_database()
    redis_server = Redis(root)
    redis_server.start()
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="webapp.settings",
        DATABASE_URL=pg.url,
        REDIS_URL=redis_server.url,
        DATA_ROOT=str(root / "data"),
        DEBUG="0",
        LOG_LEVEL="WARNING",
        WEB_WORKERS="2",
        RQ_WORKERS="1",
    )
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    serve = None
    try:
        serve = Serve(env, root)
        result = run(args, serve, pg, redis_server)
        result["serve restarts logged"] = serve.output().count("restarting it in")
        report(result)
        if args.out:
            args.out.write_text(json.dumps(result, indent=2, default=str))
    finally:
        if serve is not None:
            serve.stop()
        if redis_server.proc and redis_server.proc.poll() is None:
            redis_server.kill()
        try:
            pg.stop()
        except subprocess.CalledProcessError:
            pass
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def _account():
    from webapp.accounts.services.access_keys import access_key_create
    from webapp.accounts.services.accounts import user_signup

    user = user_signup(username="faults", password="faults-password-9x", email="f@example.com")
    key, secret = access_key_create(account=user.membership.account, user=user)
    return user.membership.account, key.key_id, secret


def _store(account, key: str, data: bytes) -> str:
    import io

    from webapp.core import storage

    uri = storage.S3Uri("bench", key)
    storage.save_upload(account.account_id, uri, io.BytesIO(data))
    return str(uri)


def _small_training_set() -> bytes:
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()
    rows = []
    for i in range(400):
        label = f"topic{i % 5}"
        text = " ".join(words[(i + k) % len(words)] for k in range(5))
        rows.append(f"{label},{label} {text} {i}")
    return ("\n".join(rows) + "\n").encode()


def run(args, serve: Serve, pg: Postgres, redis_server: Redis) -> dict:
    import boto3
    from botocore.config import Config
    from django.db import connection

    from webapp.core import arns

    account, key_id, secret = _account()
    role = arns.default_role(account.account_id)
    # The bench's own control calls retry as an SDK does by default, and log what they met.
    api = boto3.client(
        "comprehend",
        endpoint_url=serve.url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )
    clinc = (args.data / "clinc150" / "train.csv").read_bytes()
    train_uri = _store(account, "train/clinc150.csv", clinc)
    small_uri = _store(account, "train/small.csv", _small_training_set())
    texts = [line.split(",", 1)[1] for line in (args.data / "clinc150" / "test.csv")
             .read_text(encoding="utf-8").splitlines() if "," in line]  # fmt: skip
    connection.close()

    def create(name, uri, token):
        return api.create_document_classifier(
            DocumentClassifierName=name,
            VersionName="v1",
            DataAccessRoleArn=role,
            InputDataConfig={"S3Uri": uri},
            LanguageCode="en",
            ClientRequestToken=token,
        )["DocumentClassifierArn"]

    def status(arn):
        return api.describe_document_classifier(DocumentClassifierArn=arn)[
            "DocumentClassifierProperties"
        ]

    def wait(predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return time.time()
            time.sleep(0.5)
        raise RuntimeError(f"gave up waiting for {what}")

    finished = ("TRAINED", "TRAINED_WITH_WARNING", "IN_ERROR", "STOPPED")
    _log("training the endpoint's model (CLINC150) ...")
    served = create("served", train_uri, "served")
    wait(lambda: status(served)["Status"] in finished, 600, "the endpoint's model")
    endpoint = api.create_endpoint(EndpointName="faults", ModelArn=served, DesiredInferenceUnits=1)
    endpoint_arn = endpoint["EndpointArn"]

    def endpoint_status():
        return api.describe_endpoint(EndpointArn=endpoint_arn)["EndpointProperties"]["Status"]

    wait(lambda: endpoint_status() == "IN_SERVICE", 300, "the endpoint")

    stop_file = root_stop = Path(tempfile.mkdtemp()) / "stop"
    per_process = max(1, args.clients // 2)
    jobs = [
        (serve.url, key_id, secret, texts, endpoint_arn, per_process, n, str(stop_file))
        for n in range(args.clients // per_process)
    ]
    pool = multiprocessing.get_context("fork").Pool(len(jobs))
    pending = pool.map_async(_client_process, jobs)
    _log(f"{args.clients} ClassifyDocument clients started")
    time.sleep(10)
    started = time.time()
    events = {}
    arns_by_name = {}

    # 1. Kill the worker in the middle of a training; the next training is submitted at once.
    arns_by_name["a"] = create("faults-a", train_uri, "faults-a")
    wait(lambda: status(arns_by_name["a"])["Status"] == "TRAINING", 300, "training a")
    time.sleep(3)
    events["worker killed"] = time.time()
    old = serve.kill_worker()
    _log(f"killed the RQ worker {old} and its work horse")
    arns_by_name["b"] = create("faults-b", train_uri, "faults-b")
    events["worker back"] = wait(lambda: serve.worker() not in (None, old), 120, "a new worker")
    events["b training"] = wait(
        lambda: status(arns_by_name["b"])["Status"] == "TRAINING", 300, "training b"
    )
    _log("a new worker took training b")

    # 2. Restart Redis while b trains; a create during the outage must still answer success.
    time.sleep(10)
    events["redis killed"] = time.time()
    redis_server.kill()
    _log("killed redis-server")
    time.sleep(1)
    try:
        arns_by_name["c"] = create("faults-c", small_uri, "faults-c")
        events["create during redis outage"] = "answered success"
    except Exception as exc:  # noqa: BLE001 - recorded, and the run goes on
        events["create during redis outage"] = f"failed: {exc}"
    time.sleep(max(0.0, args.redis_down - 1))
    redis_server.start()
    events["redis started"] = time.time()
    _log("started redis-server again")
    events["outbox pushed"] = wait(_outbox_empty, 300, "the outbox to be pushed")
    _log("the outbox was pushed to Redis")

    # 3. Restart PostgreSQL while b (if it still runs) trains.
    time.sleep(10)
    events["b status before pg restart"] = status(arns_by_name["b"])["Status"]
    events["pg stopped"] = time.time()
    pg.stop()
    _log("stopped PostgreSQL")
    time.sleep(args.pg_down)
    pg.start()
    events["pg started"] = time.time()
    _log("started PostgreSQL again")

    for name, arn in arns_by_name.items():
        wait(lambda arn=arn: status(arn)["Status"] in finished, 900, f"training {name}")
    time.sleep(5)
    stop_file.write_text("stop")
    records = sorted(r for found in pending.get(300) for r in found)
    pool.close()
    shutil.rmtree(root_stop.parent, ignore_errors=True)
    return summarise(records, events, started, arns_by_name, status, endpoint_status)


def _outbox_empty() -> bool:
    from django.db import connection

    from webapp.core.models import OutboxEntry

    try:
        return not OutboxEntry.objects.exists()
    finally:
        connection.close()


def _recovery(records, fault_at: float, back_at: float, until: float) -> dict:
    """What clients saw from a fault until the next one: errors, and when they stopped."""
    window = [r for r in records if fault_at <= r[0] < until]
    errors = [r for r in window if r[1] != "ok"]
    last_error = max((r[0] for r in errors), default=None)
    return {
        "calls": len(window),
        "errors": len(errors),
        "last error, s after the fault": round(last_error - fault_at, 1) if last_error else None,
        "last error, s after the restart": round(last_error - back_at, 1) if last_error else None,
    }


def summarise(records, events, started, arns_by_name, status, endpoint_status) -> dict:
    from django.db import connection

    from models_app.models import AnalysisTask, Endpoint, ModelVersion
    from webapp.core.models import OutboxEntry

    connection.close()
    outcomes = collections.Counter(r[1] for r in records)
    calls = len(records)
    span = records[-1][0] - records[0][0] if records else 0
    errors = {k: v for k, v in outcomes.items() if k != "ok"}
    finals = {name: status(arn) for name, arn in arns_by_name.items()}
    stuck = {
        "versions": list(
            ModelVersion.objects.filter(
                status__in=("SUBMITTED", "TRAINING", "STOP_REQUESTED")
            ).values_list("model__name", "status")
        ),
        "endpoints": list(
            Endpoint.objects.exclude(status__in=("IN_SERVICE", "FAILED")).values_list(
                "name", "status"
            )
        ),
        "analysis tasks": AnalysisTask.objects.filter(status__in=("PENDING", "RUNNING")).count(),
        "outbox entries": OutboxEntry.objects.count(),
    }
    rel = {k: round(v - started, 1) if isinstance(v, float) else v for k, v in events.items()}
    return {
        "calls": calls,
        "seconds": round(span, 1),
        "calls per second": round(calls / span, 1) if span else 0,
        "errors by outcome": errors,
        "all errors retryable": all(retryable(k) for k in errors),
        "events (s from the first fault's training)": rel,
        "worker kill": {
            **_recovery(
                records, events["worker killed"], events["worker back"], events["redis killed"]
            ),
            "kill to new worker (s)": round(events["worker back"] - events["worker killed"], 1),
            "kill to next training running (s)": round(
                events["b training"] - events["worker killed"], 1
            ),
        },
        "redis restart": {
            **_recovery(
                records, events["redis killed"], events["redis started"], events["pg stopped"]
            ),
            "create during outage": events["create during redis outage"],
            "restart to outbox pushed (s)": round(
                events["outbox pushed"] - events["redis started"], 1
            ),
        },
        "postgres restart": _recovery(
            records, events["pg stopped"], events["pg started"], events["pg started"] + 60
        ),
        "trainings": {
            name: {
                "status": p["Status"],
                "message": p.get("Message", ""),
                "ended, s from the first fault's training": round(
                    p["EndTime"].timestamp() - started, 1
                )
                if p.get("EndTime")
                else None,
            }
            for name, p in finals.items()
        },
        "endpoint": endpoint_status(),
        "left unfinished": stuck,
    }


def report(result: dict) -> None:
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
