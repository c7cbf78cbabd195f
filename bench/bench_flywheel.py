"""Flywheel benchmark: version 1 from the 20 Newsgroups partial set, a flywheel, a TRAIN dataset
from the complete set (a superset of the partial one), and one iteration.

Everything runs through the services with the jobs in this process (a burst SimpleWorker on the
same queues a worker listens to), on PostgreSQL and Redis, so the figures are the work itself:
how long the dataset takes to ingest, how long the iteration takes from StartFlywheelIteration
to COMPLETED, the AverageF1Score of the trained and the evaluated version on the same test pool,
and this process's peak memory (it ran every job).

    .venv/bin/python bench/bench_flywheel.py
    .venv/bin/python bench/bench_flywheel.py --data /path/to/data

Targets (issue 17): trained AverageF1Score >= 0.92 and at least 0.04 above the evaluated one on
the same pool; ingest <= 30 s; iteration <= 4 min; peak memory <= 4 GiB.
Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_DATA_ROOT override the defaults below.
"""

import argparse
import gzip
import json
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/twbench_flywheel?conn_max_age=600"
)
os.environ.setdefault("BENCH_DATA_ROOT", "/tmp/textwheel-bench-flywheel")
sys.path.insert(0, str(REPO))
from bench import bench_inference as inference  # noqa: E402  (sets the app's environment)
from bench.benchlib import setup_django  # noqa: E402

TARGET_F1, TARGET_GAIN, TARGET_INGEST, TARGET_ITERATION, TARGET_PEAK_GIB = 0.92, 0.04, 30, 240, 4


def _partial() -> bytes:
    return (
        inference.SHARED / "20newsgroups" / "custom-classifier-partial-dataset.csv"
    ).read_bytes()


def _complete() -> bytes:
    return gzip.decompress(
        (
            inference.SHARED / "20newsgroups" / "custom-classifier-complete-dataset.csv.gz"
        ).read_bytes()
    )


def _peak_gib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=inference.DEFAULT_DATA)
    args = parser.parse_args()
    inference.SHARED = args.data
    print(f"database {inference.DATABASE_URL}, redis {inference.REDIS_URL}; {os.cpu_count()} CPUs")
    setup_django()
    from flywheel_app.models import Dataset, Flywheel, FlywheelIteration
    from flywheel_app.services import datasets, flywheels, iterations
    from models_app.models import ModelVersion
    from models_app.services import classifiers
    from webapp.core import arns

    account, _key_id, _secret = inference.account_and_key()
    role = arns.default_role(account.account_id)
    stamp = time.strftime("%Y%m%d%H%M%S")
    run = inference._run_jobs_in_process

    print("training version 1 on the partial set ...", flush=True)
    partial_uri = inference._store(account, f"flywheel/{stamp}/partial.csv", _partial())
    started = time.monotonic()
    version = classifiers.classifier_create(
        account=account,
        name=f"news-{stamp}",
        input_data_config={"S3Uri": partial_uri},
        data_access_role_arn=role,
    )
    run()
    version = ModelVersion.objects.select_related("model", "account").get(pk=version.pk)
    v1_seconds = time.monotonic() - started
    if not version.is_usable:
        raise SystemExit(f"version 1 ended {version.status}: {version.message}")
    print(
        f"  version 1: {version.number_of_trained_documents:,} documents, "
        f"F1Score {version.metrics['F1Score']:.4f}, {v1_seconds:.1f} s",
        flush=True,
    )

    flywheel = flywheels.flywheel_create(
        account=account,
        name=f"news-fw-{stamp}",
        data_access_role_arn=role,
        data_lake_s3_uri=f"s3://bench/lake-{stamp}",
        active_model_arn=version.arn,
    )
    run()
    flywheel = Flywheel.objects.get(pk=flywheel.pk)
    if flywheel.status != "ACTIVE":
        raise SystemExit(f"the flywheel ended {flywheel.status}: {flywheel.message}")

    complete_uri = inference._store(account, f"flywheel/{stamp}/complete.csv", _complete())
    started = time.monotonic()
    dataset = datasets.dataset_create(
        account=account,
        flywheel_arn=flywheel.arn,
        name="complete",
        input_data_config={
            "DataFormat": "COMPREHEND_CSV",
            "DocumentClassifierInputDataConfig": {"S3Uri": complete_uri},
        },
    )
    run()
    ingest_seconds = time.monotonic() - started
    dataset = Dataset.objects.get(pk=dataset.pk)
    if dataset.status != "COMPLETED":
        raise SystemExit(f"the dataset ended {dataset.status}: {dataset.message}")
    print(
        f"  dataset: {dataset.number_of_documents:,} documents ingested in {ingest_seconds:.1f} s",
        flush=True,
    )

    print("running one iteration ...", flush=True)
    started = time.monotonic()
    iteration = iterations.flywheel_iteration_start(account=account, flywheel_arn=flywheel.arn)
    run()
    iteration_seconds = time.monotonic() - started
    iteration = FlywheelIteration.objects.select_related("trained_version").get(pk=iteration.pk)
    if iteration.status != "COMPLETED":
        raise SystemExit(f"the iteration ended {iteration.status}: {iteration.message}")
    trained = iteration.trained_version
    evaluated_f1 = iteration.evaluated_metrics["AverageF1Score"]
    trained_f1 = iteration.trained_metrics["AverageF1Score"]
    peak = _peak_gib()
    results = {
        "version_1": {
            "trained_documents": version.number_of_trained_documents,
            "own_f1": round(version.metrics["F1Score"], 4),
            "seconds": round(v1_seconds, 1),
        },
        "ingest_documents": dataset.number_of_documents,
        "ingest_s": round(ingest_seconds, 1),
        "iteration_s": round(iteration_seconds, 1),
        "trained_documents": trained.number_of_trained_documents,
        "test_pool_documents": trained.number_of_test_documents,
        "evaluated": iteration.evaluated_metrics,
        "trained": iteration.trained_metrics,
        "f1_gain": round(trained_f1 - evaluated_f1, 4),
        "peak_memory_gib": round(peak, 2),
    }
    print(
        f"AverageF1Score trained {trained_f1:.4f} (target >= {TARGET_F1}), evaluated "
        f"{evaluated_f1:.4f}, gain {trained_f1 - evaluated_f1:+.4f} (target >= {TARGET_GAIN}); "
        f"ingest {ingest_seconds:.1f} s (target <= {TARGET_INGEST} s); iteration "
        f"{iteration_seconds:.1f} s (target <= {TARGET_ITERATION} s); peak memory "
        f"{peak:.2f} GiB (target <= {TARGET_PEAK_GIB} GiB)",
        flush=True,
    )
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
