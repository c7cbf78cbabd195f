"""Inference benchmark: real-time endpoints and analysis jobs, through the signed API.

The server runs as in production: gunicorn (DEBUG=0) on PostgreSQL and Redis, RQ workers as
separate processes. Every request is signed with SigV4 by client processes on the same machine
and goes to 127.0.0.1 only. Models are trained once through the real services (and reused by
later runs on the same database).

    .venv/bin/python bench/bench_inference.py                       # everything
    .venv/bin/python bench/bench_inference.py --parts classify      # ClassifyDocument only
    .venv/bin/python bench/bench_inference.py --parts entities,jobs --duration 30
    .venv/bin/python bench/bench_inference.py --parts entities,jobs --base-model all-MiniLM-L6-v2

Parts: classify (CLINC150 and 20 Newsgroups texts, 8 clients), entities (CoNLL sentences),
jobs (100,000 CLINC150 + GoEmotions documents, one per line, with one worker then two).
Models are trained with the tag textwheel:base-model=none unless --base-model names an installed
base model; then they are other models (their names end in -bm), the real-time targets are those
of a transformer model (DetectEntities >= 100 requests/s, p99 <= 100 ms) and the jobs part also
runs an entity detection job over CoNLL sentences (target >= 300 documents/s per worker).
Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_DATA_ROOT override the defaults below.
"""

import argparse
import csv
import http.client
import io
import json
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
# The full public sets (Comprehend's formats, docs/benchmarks.md says whence); --data names another.
DEFAULT_DATA = REPO.parent / "shared" / "data"
SHARED = DEFAULT_DATA
# Persistent database connections (conn_max_age) as a production deployment would set them.
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/twbench_inference?conn_max_age=600"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
DATA_ROOT = os.environ.get("BENCH_DATA_ROOT", "/tmp/textwheel-bench-inference")
MAX_TEXT_BYTES = 10_000
TARGET = "Comprehend_20171127."

sys.path.insert(0, str(REPO))
from bench.benchlib import Server, setup_django  # noqa: E402

os.environ.update(
    DJANGO_SETTINGS_MODULE="webapp.settings",
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=REDIS_URL,
    DATA_ROOT=DATA_ROOT,
    DEBUG="0",
    LOG_LEVEL="WARNING",
)


# Data


def _csv_rows(path: Path) -> list[list[str]]:
    csv.field_size_limit(10**8)
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _fits(text: str) -> bool:
    return 0 < len(text.encode("utf-8")) <= MAX_TEXT_BYTES


def clinc_texts() -> list[str]:
    return [row[1] for row in _csv_rows(SHARED / "clinc150" / "test.csv")]


def newsgroups_texts() -> list[str]:
    return [row[1] for row in _csv_rows(SHARED / "20newsgroups" / "train.csv") if _fits(row[1])]


def conll_sentences() -> list[str]:
    lines = (SHARED / "conll2003" / "test.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()]


def job_documents(count: int = 100_000) -> list[str]:
    """CLINC150 and GoEmotions texts, one line each, cycled up to `count` documents."""
    texts = []
    for name in ("train", "validation", "test", "oos_train", "oos_validation", "oos_test"):
        texts += [row[1] for row in _csv_rows(SHARED / "clinc150" / f"{name}.csv")]
    for name in ("train", "validation", "test"):
        texts += [row[1] for row in _csv_rows(SHARED / "goemotions" / f"{name}.csv")]
    texts = [" ".join(t.split()) for t in texts if t.strip()]
    random.Random(1).shuffle(texts)
    return [texts[i % len(texts)] for i in range(count)]


# Setting up: database, account, trained models


def account_and_key():
    from django.contrib.auth import get_user_model

    from webapp.accounts.models import AccessKey
    from webapp.accounts.services.access_keys import access_key_create, access_key_revoke
    from webapp.accounts.services.accounts import user_signup

    user = get_user_model().objects.filter(username="bench").first()
    if user is None:
        user = user_signup(username="bench", password="bench-password-9x", email="b@example.com")
    account = user.membership.account
    for key in AccessKey.objects.filter(user=user, revoked_at__isnull=True):
        access_key_revoke(account=account, user=user, key_id=key.key_id)
    key, secret = access_key_create(account=account, user=user)
    return account, key.key_id, secret


def _run_jobs_in_process():
    import django_rq
    from rq import SimpleWorker

    queues = [django_rq.get_queue(name) for name in ("training", "inference", "default")]
    SimpleWorker(queues, connection=queues[0].connection).work(burst=True)
    # The worker installed its own signal handlers; the forked client processes must not keep them.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _store(account, key: str, data: bytes) -> str:
    from webapp.core import storage

    uri = storage.S3Uri("bench", key)
    storage.save_upload(account.account_id, uri, io.BytesIO(data))
    return str(uri)


def trained_version(account, kind: str, name: str, train, base_model: str = "none") -> str:
    """The ARN of a trained version named `name`, training it through the services if needed."""
    from django.test import override_settings

    from models_app.models import Endpoint, ModelStatus, ModelVersion
    from models_app.services import classifiers, recognizers, serving
    from webapp.core import arns
    from webapp.core.errors import ServiceError

    done = (ModelStatus.TRAINED, ModelStatus.TRAINED_WITH_WARNING)
    version = (
        ModelVersion.objects.filter(account=account, model__name=name, status__in=done)
        .select_related("model", "account")
        .first()
    )
    if version is not None:
        try:
            serving.check(version)  # a model saved by an older build may no longer load
            return version.arn
        except ServiceError as exc:
            print(f"  {name} no longer loads ({exc}); training it again", flush=True)
    Endpoint.objects.filter(account=account, desired_version__model__name=name).delete()
    Endpoint.objects.filter(account=account, version__model__name=name).delete()
    ModelVersion.objects.filter(account=account, model__name=name).delete()
    print(f"  training {name} through the services ...", flush=True)
    started = time.monotonic()
    role = arns.default_role(account.account_id)
    tags = [{"Key": "textwheel:base-model", "Value": base_model}]
    if kind == "classifier":
        uri = _store(account, f"train/{name}.csv", train())
        classifiers.classifier_create(
            account=account,
            name=name,
            input_data_config={"S3Uri": uri},
            data_access_role_arn=role,
            tags=tags,
        )
    else:
        docs, annotations = train()
        docs_uri = _store(account, f"train/{name}/train.txt", docs)
        ann_uri = _store(account, f"train/{name}-annotations.csv", annotations)
        recognizers.recognizer_create(
            account=account,
            name=name,
            input_data_config={
                "EntityTypes": [
                    {"Type": t} for t in ("PERSON", "LOCATION", "ORGANIZATION", "MISC")
                ],
                "Documents": {"S3Uri": docs_uri},
                "Annotations": {"S3Uri": ann_uri},
            },
            data_access_role_arn=role,
            tags=tags,
        )
    # The recognizer's budget only shortens training; serving speed depends on the architecture.
    with override_settings(
        RECOGNIZER_TIME_BUDGET_SECONDS=float(os.environ.get("BENCH_NER_BUDGET", 240))
    ):
        _run_jobs_in_process()
    version = ModelVersion.objects.select_related("model", "account").get(
        account=account, model__name=name
    )
    assert version.status in done, version.message
    print(f"  trained {name} in {time.monotonic() - started:.0f} s", flush=True)
    return version.arn


def _conll_train():
    docs = (SHARED / "conll2003" / "train.txt").read_bytes()
    annotations = (SHARED / "conll2003" / "train-annotations.csv").read_bytes()
    return docs, annotations


MODELS = {
    "clinc": (
        "classifier",
        "bench-clinc150",
        lambda: (SHARED / "clinc150" / "train.csv").read_bytes(),
    ),
    "news": (
        "classifier",
        "bench-20ng",
        lambda: (SHARED / "20newsgroups" / "train.csv").read_bytes(),
    ),
    "conll": ("recognizer", "bench-conll", _conll_train),
}


# Processes: gunicorn and RQ workers


class Workers:
    """`manage.py rqworker` processes."""

    def __init__(self, count: int):
        self.procs = [
            subprocess.Popen(
                [sys.executable, str(REPO / "manage.py"), "rqworker", "inference", "default"],
                cwd=REPO,
                env=dict(os.environ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            for _ in range(count)
        ]
        time.sleep(3)  # let them import Django and register with Redis

    def stop(self):
        for proc in self.procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            proc.wait(60)


# CPU accounting: what each call costs the server, the database and the clients, so a figure
# measured on a busy machine can be read against the two cores an idle one would give.

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pids) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
    return total


def _family(root: int) -> list[int]:
    """A process and its children (gunicorn's master and workers)."""
    found = [root]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == root:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def _named(name: str) -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name:
                pids.append(int(comm.parent.name))
        except OSError:
            continue
    return pids


# A lean signed client (botocore's SigV4 signer over a keep-alive HTTP connection)


class SignedClient:
    def __init__(self, url: str, key_id: str, secret: str):
        from botocore.auth import SigV4Auth
        from botocore.credentials import Credentials

        parsed = urlparse(url)
        self.url, self.host, self.port = url, parsed.hostname, parsed.port
        self.signer = SigV4Auth(Credentials(key_id, secret), "comprehend", "us-east-1")
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def call(self, operation: str, payload: dict) -> dict:
        from botocore.awsrequest import AWSRequest

        body = json.dumps(payload).encode()
        request = AWSRequest(
            method="POST",
            url=self.url,
            data=body,
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": TARGET + operation,
                "Host": f"{self.host}:{self.port}",
            },
        )
        self.signer.add_auth(request)
        for attempt in (1, 2):
            try:
                self.conn.request("POST", "/", body=body, headers=dict(request.headers))
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {data[:300]!r}")
        return json.loads(data)


def _load_process(args) -> dict:
    """One client process: `threads` threads calling as fast as they can until `until`."""
    url, key_id, secret, calls, threads, start_at, until, seed = args
    results = {"latencies": [], "errors": 0, "first_error": None}
    lock = threading.Lock()

    def run(n):
        client = SignedClient(url, key_id, secret)
        rng = random.Random(seed * 100 + n)
        latencies, errors, first = [], 0, None
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < until:
            operation, payload = rng.choice(calls)
            began = time.perf_counter()
            try:
                client.call(operation, payload)
                latencies.append(time.perf_counter() - began)
            except Exception as exc:  # noqa: BLE001 - every failure is reported
                errors += 1
                first = first or repr(exc)
        with lock:
            results["latencies"] += latencies
            results["errors"] += errors
            results["first_error"] = results["first_error"] or first

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    before = time.process_time()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results["cpu"] = time.process_time() - before
    return results


def load(
    url, key_id, secret, calls, *, clients: int, processes: int, duration: float, server=None
) -> dict:
    """Run `clients` concurrent callers for `duration` seconds; throughput, latency and CPU."""
    start_at = time.time() + 2.0
    until = start_at + duration
    per = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    jobs = [(url, key_id, secret, calls, n, start_at, until, i) for i, n in enumerate(per) if n]
    web = _family(server.proc.pid) if server else []
    database = _named("postgres")
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
        pending = pool.map_async(_load_process, jobs)
        while time.time() < start_at:
            time.sleep(0.01)
        cpu_before = (_cpu_of(web), _cpu_of(database))
        per_process_before = [_cpu_of([pid]) for pid in web]
        parts = pending.get()
        cpu_after = (_cpu_of(web), _cpu_of(database))
        per_process = [_cpu_of([pid]) - b for pid, b in zip(web, per_process_before, strict=True)]
    latencies = sorted(x for p in parts for x in p["latencies"])
    errors = sum(p["errors"] for p in parts)
    if not latencies:
        return {"requests": 0, "errors": errors, "first_error": parts[0]["first_error"]}

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    calls_done = max(1, len(latencies) + errors)
    return {
        "server_cpu_ms": (cpu_after[0] - cpu_before[0]) * 1000 / calls_done,
        # How the web processes shared the work (each client keeps its connection to one).
        "web_cpu_shares": sorted(
            (c / max(1e-9, sum(per_process)) for c in per_process if c > 0.01 * duration),
            reverse=True,
        ),
        "database_cpu_ms": (cpu_after[1] - cpu_before[1]) * 1000 / calls_done,
        "client_cpu_ms": sum(p.get("cpu", 0.0) for p in parts) * 1000 / calls_done,
        "requests": len(latencies),
        "errors": errors,
        "first_error": next((p["first_error"] for p in parts if p["first_error"]), None),
        "rps": len(latencies) / duration,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
    }


def _report(name: str, result: dict, rps_target: float, p99_target: float) -> None:
    if not result.get("requests"):
        print(f"  {name}: no successful request; {result}")
        return
    ok = result["rps"] >= rps_target and result["p99_ms"] <= p99_target
    # Other work on the machine shows here: the 1-minute load average when the run ended.
    load_average = os.getloadavg()[0]
    print(
        f"  {name}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.1f} ms, "
        f"p90 {result['p90_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"max {result['max_ms']:.0f} ms, {result['requests']} calls, {result['errors']} errors "
        f"[target >= {rps_target:.0f} req/s, p99 <= {p99_target:.0f} ms: "
        f"{'met' if ok else 'MISSED'}; load average {load_average:.1f}]"
        + (f"  first error: {result['first_error']}" if result["errors"] else ""),
        flush=True,
    )
    if result.get("server_cpu_ms"):
        total = result["server_cpu_ms"] + result["database_cpu_ms"] + result["client_cpu_ms"]
        print(
            f"    CPU per call: web {result['server_cpu_ms']:.2f} ms, PostgreSQL (every database "
            f"on the machine) {result['database_cpu_ms']:.2f} ms, signing clients "
            f"{result['client_cpu_ms']:.2f} ms; total {total:.2f} ms = at most "
            f"{2000 / total:.0f} calls/s on 2 idle cores; the web processes' shares of it: "
            + " / ".join(f"{share:.0%}" for share in result.get("web_cpu_shares", [])),
            flush=True,
        )


def _endpoint(client: SignedClient, name: str, model_arn: str) -> str:
    """An IN_SERVICE endpoint serving `model_arn` (created or reused)."""
    from django.conf import settings

    arn = f"arn:aws:comprehend:{settings.AWS_REGION}:{client.account}:"
    arn += "entity-recognizer" if ":entity-recognizer/" in model_arn else "document-classifier"
    arn += f"-endpoint/{name}"
    try:
        props = client.call("DescribeEndpoint", {"EndpointArn": arn})["EndpointProperties"]
        if props.get("ModelArn") != model_arn or props["Status"] == "FAILED":
            client.call("DeleteEndpoint", {"EndpointArn": arn})
            raise RuntimeError("recreate")
    except RuntimeError:
        client.call(
            "CreateEndpoint",
            {"EndpointName": name, "ModelArn": model_arn, "DesiredInferenceUnits": 1},
        )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        props = client.call("DescribeEndpoint", {"EndpointArn": arn})["EndpointProperties"]
        if props["Status"] == "IN_SERVICE":
            return arn
        if props["Status"] == "FAILED":
            raise RuntimeError(props.get("Message"))
        time.sleep(0.5)
    raise RuntimeError(f"endpoint {name} did not come into service")


# The parts


def bench_realtime(args, account, key_id, secret, arns_by_model, parts) -> None:
    server = Server(args.web_workers, args.threads)
    workers = Workers(1)  # deploys the endpoints
    try:
        client = SignedClient(server.url, key_id, secret)
        client.account = account.account_id
        print(
            f"gunicorn: {args.web_workers} workers x {args.threads} threads (gthread), DEBUG=0; "
            f"{args.clients} concurrent clients in {args.processes} processes; "
            f"{args.duration:.0f} s per run",
            flush=True,
        )
        if "classify" in parts:
            clinc = _endpoint(client, "bench-clinc", arns_by_model["clinc"])
            news = _endpoint(client, "bench-news", arns_by_model["news"])
            clinc_calls = [
                ("ClassifyDocument", {"EndpointArn": clinc, "Text": t}) for t in clinc_texts()
            ]
            news_calls = [
                ("ClassifyDocument", {"EndpointArn": news, "Text": t}) for t in newsgroups_texts()
            ]
            for name, calls in (
                ("ClassifyDocument, CLINC150 texts", clinc_calls),
                ("ClassifyDocument, 20 Newsgroups texts (<= 10 KB)", news_calls),
                ("ClassifyDocument, both mixed 50/50", clinc_calls[:2000] + news_calls[:2000]),
            ):
                _warm(server.url, key_id, secret, calls, args)
                result = load(
                    server.url,
                    key_id,
                    secret,
                    calls,
                    clients=args.clients,
                    processes=args.processes,
                    duration=args.duration,
                    server=server,
                )
                _report(name, result, 300, 50)
        if "entities" in parts:
            conll = _endpoint(client, "bench-conll", arns_by_model["conll"])
            calls = [
                ("DetectEntities", {"EndpointArn": conll, "Text": t}) for t in conll_sentences()
            ]
            _warm(server.url, key_id, secret, calls, args)
            result = load(
                server.url,
                key_id,
                secret,
                calls,
                clients=args.clients,
                processes=args.processes,
                duration=args.duration,
                server=server,
            )
            targets = (100, 100) if args.base_model != "none" else (150, 80)
            _report("DetectEntities, CoNLL-2003 test sentences", result, *targets)
    finally:
        workers.stop()
        server.stop()


def _warm(url, key_id, secret, calls, args) -> None:
    """Every web process loads the model once before measuring (the first call reads it)."""
    load(url, key_id, secret, calls, clients=args.clients, processes=args.processes, duration=3)


def bench_jobs(args, account, key_id, secret, arns_by_model) -> None:
    documents = job_documents(args.job_documents)
    data = ("\n".join(documents) + "\n").encode("utf-8")
    uri = _store(account, "jobs/input/documents.txt", data)
    print(
        f"classification job input: {len(documents):,} documents (CLINC150 + GoEmotions texts, "
        f"one per line), {len(data) / 1e6:.1f} MB",
        flush=True,
    )
    runs = [("classification", arns_by_model["clinc"], uri, len(documents))]
    if args.base_model != "none":
        sentences = conll_sentences()
        sentences = [sentences[i % len(sentences)] for i in range(min(args.job_documents, 20_000))]
        ner_uri = _store(
            account, "jobs/input/sentences.txt", ("\n".join(sentences) + "\n").encode("utf-8")
        )
        print(f"entity detection job input: {len(sentences):,} CoNLL-2003 test sentences")
        runs.append(("entities", arns_by_model["conll"], ner_uri, len(sentences)))
    # With a base model every document goes through the transformer: its target is per worker.
    target = 300 if args.base_model != "none" else 2000
    server = Server(1, 2)
    try:
        client = SignedClient(server.url, key_id, secret)
        for kind, model_arn, input_uri, count_documents in runs:
            for count in args.job_workers:
                workers = Workers(count)
                try:
                    _job(
                        client, account, kind, model_arn, input_uri, count, count_documents, target
                    )
                finally:
                    workers.stop()
    finally:
        server.stop()


def _job(client, account, kind, model_arn, input_uri, workers, documents, target) -> None:
    """Run one analysis job from Start to COMPLETED and print its rate."""
    import tarfile

    from models_app.models import AnalysisJob
    from webapp.core import arns, storage

    began = time.monotonic()
    common = {
        "JobName": f"bench-{kind}-{workers}-workers",
        "InputDataConfig": {"S3Uri": input_uri, "InputFormat": "ONE_DOC_PER_LINE"},
        "OutputDataConfig": {"S3Uri": "s3://bench/jobs/output/"},
        "DataAccessRoleArn": arns.default_role(account.account_id),
    }
    if kind == "classification":
        start, describe, key = (
            "StartDocumentClassificationJob",
            "DescribeDocumentClassificationJob",
            "DocumentClassificationJobProperties",
        )
        payload = {**common, "DocumentClassifierArn": model_arn}
    else:
        start, describe, key = (
            "StartEntitiesDetectionJob",
            "DescribeEntitiesDetectionJob",
            "EntitiesDetectionJobProperties",
        )
        payload = {**common, "EntityRecognizerArn": model_arn, "LanguageCode": "en"}
    started = client.call(start, payload)
    while True:
        props = client.call(describe, {"JobId": started["JobId"]})[key]
        if props["JobStatus"] in ("COMPLETED", "FAILED", "STOPPED"):
            break
        time.sleep(0.1)
    elapsed = time.monotonic() - began
    job = AnalysisJob.objects.get(job_id=started["JobId"])
    output = storage.parse_uri(props["OutputDataConfig"]["S3Uri"], field="x")
    with storage.open_read(account.account_id, output) as handle:
        with tarfile.open(fileobj=handle, mode="r:gz") as tar:
            lines = sum(1 for _ in tar.extractfile("predictions.jsonl"))
    rate = documents / elapsed
    met = "met" if rate >= target * workers else "MISSED"
    print(
        f"  {kind} job, {workers} worker(s): {props['JobStatus']} in {elapsed:.1f} s from Start "
        f"to COMPLETED as Describe reports it = {rate:,.0f} documents/s "
        f"({job.tasks.filter(role='CHUNK').count()} chunks, {lines:,} output lines, "
        f"{job.documents_failed} failed; load average {os.getloadavg()[0]:.1f})"
        + (f" [target >= {target:,} docs/s: {met}]" if workers == 1 else ""),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="classify,entities,jobs")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--job-documents", type=int, default=100_000)
    parser.add_argument("--job-workers", default="1,2")
    parser.add_argument(
        "--base-model",
        default="none",
        help="train the models with this installed base model (default: none)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder of the public data sets (default: ../shared/data beside the repository)",
    )
    args = parser.parse_args()
    global SHARED
    SHARED = args.data
    args.job_workers = [int(n) for n in args.job_workers.split(",")]
    parts = set(args.parts.split(","))

    print(f"database {DATABASE_URL}, redis {REDIS_URL}, data {DATA_ROOT}; {os.cpu_count()} CPUs")
    setup_django()
    account, key_id, secret = account_and_key()
    needed = set()
    if "classify" in parts:
        needed |= {"clinc", "news"}
    if "entities" in parts:
        needed.add("conll")
    if "jobs" in parts:
        needed.add("clinc")
        if args.base_model != "none":
            needed.add("conll")
    arns_by_model = {}
    for key in sorted(needed):
        kind, name, train = MODELS[key]
        if args.base_model != "none":
            name += "-bm"
        arns_by_model[key] = trained_version(account, kind, name, train, args.base_model)
    from django.db import connection

    connection.close()  # the load processes are forked from here
    if parts & {"classify", "entities"}:
        bench_realtime(args, account, key_id, secret, arns_by_model, parts)
    if "jobs" in parts:
        bench_jobs(args, account, key_id, secret, arns_by_model)


if __name__ == "__main__":
    main()
