"""End-to-end classifier benchmark: submit through the service layer, train in an RQ work horse.

Measures what a user sees: wall time from submit to TRAINED (reading, validation, model selection,
evaluation, artifact and output writing) and the peak memory of the process that trained, on the
shared public data sets. Run with the same environment as the app (DATABASE_URL, REDIS_URL,
DATA_ROOT); by default it uses a throw-away SQLite database and DATA_ROOT under /tmp.

    .venv/bin/python bench/bench_classifier.py                 # every data set
    .venv/bin/python bench/bench_classifier.py --only clinc150
    .venv/bin/python bench/bench_classifier.py --only synthetic-1m
"""

import argparse
import gzip
import io
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The full public sets (Comprehend's formats, docs/benchmarks.md says whence); --data names another.
DEFAULT_DATA = REPO.parent / "shared" / "data"
SHARED = DEFAULT_DATA
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
os.environ.setdefault("DATA_ROOT", tempfile.mkdtemp(prefix="textwheel-bench-"))


def _read(name: str) -> bytes:
    path = SHARED / name
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def synthetic_million() -> bytes:
    """1,000,000 documents in 1,000 labels, recombined from CLINC150 and GoEmotions texts.

    Each synthetic label is one CLINC intent crossed with one of seven "styles" (a fixed
    prefix word pair), so the labels are learnable but need words from both parts.
    """
    rng = random.Random(1)
    import csv

    rows = list(csv.reader(io.StringIO(_read("clinc150/train.csv").decode())))
    by_intent: dict[str, list[str]] = {}
    for label, text in rows:
        by_intent.setdefault(label, []).append(text)
    intents = sorted(by_intent)
    styles = [f"style{i} tone{i}" for i in range(7)]
    labels = [(i, s) for s in range(7) for i in range(len(intents))][:1000]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for n in range(1_000_000):
        intent_i, style_i = labels[n % len(labels)]
        text = rng.choice(by_intent[intents[intent_i]])
        writer.writerow([f"{intents[intent_i]}__s{style_i}", f"{styles[style_i]} {text}"])
    return out.getvalue().encode()


SETS = {
    "clinc150": dict(
        mode="MULTI_CLASS",
        train=lambda: _read("clinc150/train.csv"),
        test=lambda: _read("clinc150/test.csv"),
        metric="Accuracy",
        target=0.93,
        seconds=60,
    ),
    "20ng-partial": dict(
        mode="MULTI_CLASS",
        train=lambda: _read("20newsgroups/custom-classifier-partial-dataset.csv"),
        metric="Accuracy",
        target=0.80,
        seconds=None,
    ),
    "20ng-complete": dict(
        mode="MULTI_CLASS",
        train=lambda: _read("20newsgroups/custom-classifier-complete-dataset.csv.gz"),
        metric="Accuracy",
        target=0.94,
        seconds=120,
        memory_gib=4,
    ),
    "reuters": dict(
        mode="MULTI_LABEL",
        train=lambda: _read("reuters21578/train.csv"),
        test=lambda: _read("reuters21578/test.csv"),
        metric="MicroF1Score",
        target=0.87,
        seconds=60,
    ),
    "goemotions": dict(
        mode="MULTI_LABEL",
        train=lambda: _read("goemotions/train.csv"),
        test=lambda: _read("goemotions/test.csv"),
        metric="MicroF1Score",
        target=0.52,
        seconds=None,
    ),
    "synthetic-1m": dict(
        mode="MULTI_CLASS",
        train=synthetic_million,
        metric="Accuracy",
        target=None,
        seconds=None,
        memory_gib=8,
    ),
}


def run(name: str, spec: dict, account, user) -> dict:
    """Train one data set in a forked RQ work horse and return its figures."""
    import django_rq
    from rq import Worker

    from models_app.models import ModelVersion
    from models_app.services.classifiers import classifier_create
    from webapp.core import storage

    account_id = account.account_id
    train_uri = storage.S3Uri("bench", f"{name}/train.csv")
    storage.save_upload(account_id, train_uri, io.BytesIO(spec["train"]()))
    config = {"S3Uri": str(train_uri)}
    if spec.get("test"):
        test_uri = storage.S3Uri("bench", f"{name}/test.csv")
        storage.save_upload(account_id, test_uri, io.BytesIO(spec["test"]()))
        config["TestS3Uri"] = str(test_uri)
    if spec["mode"] == "MULTI_LABEL":
        config["LabelDelimiter"] = "|"
    started = time.monotonic()
    version = classifier_create(
        account=account,
        name=name,
        version_name=f"v{int(time.time())}",
        mode=spec["mode"],
        input_data_config=config,
        output_data_config={"S3Uri": "s3://bench-output/"},
        data_access_role_arn=f"arn:aws:iam::{account_id}:role/bench",
    )
    queue = django_rq.get_queue("training")
    # A forking worker, as in production: the work horse's peak RSS is the training's.
    Worker([queue], connection=queue.connection).work(burst=True)
    seconds = time.monotonic() - started
    version = ModelVersion.objects.get(pk=version.pk)
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    metrics = version.metrics or {}
    return {
        "set": name,
        "status": version.status,
        "docs": version.number_of_trained_documents,
        "test_docs": version.number_of_test_documents,
        "labels": version.number_of_labels,
        "metric": spec["metric"],
        "value": metrics.get(spec["metric"]),
        "f1": metrics.get("F1Score"),
        "micro_f1": metrics.get("MicroF1Score"),
        "seconds": seconds,
        "peak_gib": peak_gib,
        "target": spec["target"],
        "target_seconds": spec.get("seconds"),
        "model": (version.training_parameters or {}),
        "message": version.message[:300],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(SETS))
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder of the public data sets (default: ../shared/data beside the repository)",
    )
    args = parser.parse_args()
    global SHARED
    SHARED = args.data
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from webapp.accounts.services.accounts import user_signup

    user = user_signup(username=f"bench{int(time.time())}", password="bench-password-123456")
    account = user.membership.account
    print(
        f"{'set':15} {'status':22} {'docs':>9} {'labels':>6} {'metric':>12} {'value':>7} "
        f"{'macroF1':>7} {'seconds':>8} {'peak GiB':>8}  chosen model"
    )
    for name in args.only or [n for n in SETS if n != "synthetic-1m"]:
        r = run(name, SETS[name], account, user)
        value = f"{r['value']:.4f}" if r["value"] is not None else "-"
        f1 = f"{r['f1']:.4f}" if r["f1"] is not None else "-"
        params = r["model"]
        chosen = f"{params.get('features', '')} {params.get('model', '')}".strip()
        if params.get("hyperparameters"):
            chosen += " " + ", ".join(f"{k}={v:g}" for k, v in params["hyperparameters"].items())
        print(
            f"{r['set']:15} {r['status']:22} {r['docs'] or 0:>9,} {r['labels'] or 0:>6} "
            f"{r['metric']:>12} {value:>7} {f1:>7} {r['seconds']:>8.1f} "
            f"{r['peak_gib']:>8.2f}  {chosen}",
            flush=True,
        )
        if r["status"] not in ("TRAINED", "TRAINED_WITH_WARNING"):
            print(f"    message: {r['message']}")


if __name__ == "__main__":
    main()
