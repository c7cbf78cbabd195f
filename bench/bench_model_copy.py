"""Model copy benchmark: ImportModel -> TRAINED across two accounts, with and without keys, and
how much slower an encrypted model loads than the same model stored plain.

The server runs as in production (gunicorn, DEBUG=0, PostgreSQL, Redis) with one RQ worker
process on the default queue; B's ImportModel goes through boto3, signed, and B polls Describe
until the copy is TRAINED. Source models are trained once through the real services in account A
(the 20 Newsgroups complete set and CoNLL-2003 train) and reused by later runs on the database.

    .venv/bin/python bench/bench_model_copy.py                      # both models
    .venv/bin/python bench/bench_model_copy.py --models news --repeat 3
    .venv/bin/python bench/bench_model_copy.py --data /path/to/data

Targets (issue 16): ImportModel -> TRAINED <= 10 s plain, <= 15 s with keys on both sides; an
encrypted model loads at most 20% slower than the plain one.
Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_DATA_ROOT override the defaults below;
BENCH_NER_BUDGET (seconds) shortens the recognizer's training when it has to be trained.
"""

import argparse
import gzip
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/twbench_copy?conn_max_age=600"
)
os.environ.setdefault("BENCH_DATA_ROOT", "/tmp/textwheel-bench-copy")
sys.path.insert(0, str(REPO))
from bench import bench_inference as inference  # noqa: E402  (sets the app's environment)
from bench.benchlib import Server, setup_django  # noqa: E402

TARGET_PLAIN, TARGET_KEYED, TARGET_LOAD_RATIO = 10.0, 15.0, 1.20


def _news_complete() -> bytes:
    return gzip.decompress(
        (
            inference.SHARED / "20newsgroups" / "custom-classifier-complete-dataset.csv.gz"
        ).read_bytes()
    )


MODELS = {
    "news": ("classifier", "bench-20ng-complete", _news_complete),
    "conll": ("recognizer", "bench-conll", inference._conll_train),
}


def importer():
    """Account B's user, and a fresh access key of theirs."""
    from django.contrib.auth import get_user_model

    from webapp.accounts.models import AccessKey
    from webapp.accounts.services.access_keys import access_key_create, access_key_revoke
    from webapp.accounts.services.accounts import user_signup

    user = get_user_model().objects.filter(username="bench-importer").first()
    if user is None:
        user = user_signup(username="bench-importer", password="bench-password-9x")
    account = user.membership.account
    # A user holds at most two keys: earlier runs' go, or the third run could not sign in.
    for old in AccessKey.objects.filter(user=user, revoked_at__isnull=True):
        access_key_revoke(account=account, user=user, key_id=old.key_id)
    key, secret = access_key_create(account=account, user=user)
    return user, key.key_id, secret


def a_key_of(account, user=None):
    from webapp.accounts.services.keys import key_create

    return key_create(account=account, user=user, description="bench")


def client(url, key_id, secret):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "comprehend",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )


def describe(api, kind: str, arn: str) -> dict:
    if kind == "classifier":
        return api.describe_document_classifier(DocumentClassifierArn=arn)[
            "DocumentClassifierProperties"
        ]
    return api.describe_entity_recognizer(EntityRecognizerArn=arn)["EntityRecognizerProperties"]


def timed_import(api, kind: str, source_arn: str, **extra) -> tuple[float, str]:
    """Seconds from ImportModel to a Describe that says TRAINED, and the copy's ARN."""
    started = time.monotonic()
    arn = api.import_model(SourceModelArn=source_arn, **extra)["ModelArn"]
    while True:
        props = describe(api, kind, arn)
        if props["Status"] in ("TRAINED", "IN_ERROR", "STOPPED"):
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    if props["Status"] != "TRAINED":
        raise SystemExit(f"the import of {source_arn} ended {props['Status']}: {props['Message']}")
    return elapsed, arn


def load_seconds(version, repeat: int) -> float:
    """The median time to load a version's model from its artifact (decrypting when keyed)."""
    from models_app import kinds
    from models_app.services import artifacts

    spec = kinds.get(version.model.kind)
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        artifacts.artifact_load(
            version,
            lambda folder, verified: spec.load(
                folder, sha256=version.artifact_sha256, verified=verified
            ),
        )
        times.append(time.monotonic() - started)
    return statistics.median(times)


def keyed_source(owner_account, owner_user, source_arn: str, api_a) -> str:
    """A's own encrypted copy of the source (made once): the source for the keys-on-both-sides
    runs."""
    from models_app.models import ModelVersion

    name = source_arn.split("/")[1] + "-sealed"
    found = ModelVersion.objects.filter(
        account=owner_account, model__name=name, status="TRAINED", model_key__enabled=True
    ).first()
    if found is not None:
        return found.arn
    key = a_key_of(owner_account, owner_user)
    kind = "classifier" if ":document-classifier/" in source_arn else "recognizer"
    _, arn = timed_import(api_a, kind, source_arn, ModelName=name, ModelKmsKeyId=key.arn)
    return arn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="news,conll")
    parser.add_argument("--repeat", type=int, default=3, help="imports per case")
    parser.add_argument("--loads", type=int, default=3, help="loads per model for the ratio")
    parser.add_argument("--data", type=Path, default=inference.DEFAULT_DATA)
    args = parser.parse_args()
    inference.SHARED = args.data
    print(f"database {inference.DATABASE_URL}, redis {inference.REDIS_URL}; {os.cpu_count()} CPUs")
    setup_django()
    from django.contrib.auth import get_user_model

    from models_app.services import resource_policies
    from webapp.core import policies

    owner_account, a_id, a_secret = inference.account_and_key()
    owner_user = get_user_model().objects.get(username="bench")
    b_user, b_id, b_secret = importer()
    b_account = b_user.membership.account
    b_key = a_key_of(b_account, b_user)
    sources = {}
    for name in args.models.split(","):
        kind, model_name, train = MODELS[name]
        sources[name] = (kind, inference.trained_version(owner_account, kind, model_name, train))

    log = Path(os.environ["DATA_ROOT"]) / "bench-copy-worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    worker = subprocess.Popen(
        [sys.executable, str(REPO / "manage.py"), "rqworker", "default"],
        cwd=REPO,
        env=dict(os.environ),
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(workers=1, threads=4)
    results = {}
    try:
        time.sleep(3)  # the worker imports Django and registers with Redis
        api_a = client(server.url, a_id, a_secret)
        api_b = client(server.url, b_id, b_secret)
        for name, (kind, source_arn) in sources.items():
            sealed_arn = keyed_source(owner_account, owner_user, source_arn, api_a)
            for arn in (source_arn, sealed_arn):
                resource_policies.policy_put(
                    account=owner_account,
                    user=owner_user,
                    resource_arn=arn,
                    policy_text=policies.standard_policy(
                        principals=[b_account.account_id], resource_arn=arn
                    ),
                )
            stamp = time.strftime("%H%M%S")
            plain, keyed, copies = [], [], {}
            for i in range(args.repeat):
                seconds, copies["plain"] = timed_import(
                    api_b, kind, source_arn, ModelName=f"{name}-{stamp}-plain", VersionName=f"r{i}"
                )
                plain.append(seconds)
                seconds, copies["keyed"] = timed_import(
                    api_b,
                    kind,
                    sealed_arn,
                    ModelName=f"{name}-{stamp}-keyed",
                    VersionName=f"r{i}",
                    ModelKmsKeyId=b_key.key_id,
                )
                keyed.append(seconds)
            from models_app.selectors import version_for

            versions = {
                case: version_for(b_account, arn, principal=b_user) for case, arn in copies.items()
            }
            load_plain = load_seconds(versions["plain"], args.loads)
            load_keyed = load_seconds(versions["keyed"], args.loads)
            size = (
                sum(
                    p.stat().st_size
                    for p in Path(versions["plain"].artifact_uri).rglob("*")
                    if p.is_file()
                )
                if not versions["plain"].artifact_uri.startswith("s3://")
                else None
            )
            results[name] = {
                "import_plain_s": [round(s, 2) for s in plain],
                "import_keyed_both_sides_s": [round(s, 2) for s in keyed],
                "load_plain_s": round(load_plain, 3),
                "load_keyed_s": round(load_keyed, 3),
                "load_ratio": round(load_keyed / load_plain, 3),
                "artifact_mib": round(size / 2**20, 1) if size else None,
            }
            r = results[name]
            print(
                f"{name}: import plain median {statistics.median(plain):.2f} s "
                f"(target {TARGET_PLAIN:.0f} s), with keys {statistics.median(keyed):.2f} s "
                f"(target {TARGET_KEYED:.0f} s); load plain {load_plain:.3f} s, encrypted "
                f"{load_keyed:.3f} s, ratio {r['load_ratio']:.2f} (target <= {TARGET_LOAD_RATIO})",
                flush=True,
            )
    finally:
        server.stop()
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
