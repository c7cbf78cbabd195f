"""A long fuzzing run of the API: generated bodies for every operation, against gunicorn.

The bodies are those of tests/api/test_fuzz.py (botocore's input shapes, valid and mutated: wrong
types, unicode edge cases, missing and unknown members), many more of them and not derandomized.
The server runs as `make web` runs it: gunicorn (DEBUG=0, 2 workers × 8 threads) on PostgreSQL and
Redis. Prints the answers counted by HTTP status and error code, every 5xx, every answer not in
AWS's shape, and every refusal that changed a row.

    .venv/bin/python bench/fuzz_api.py                    # 300 examples × 29 operations × 6 bodies
    .venv/bin/python bench/fuzz_api.py --examples 50 --seed 7

Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_DATA_ROOT override the defaults below.
"""

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/twbench_fuzz?conn_max_age=600"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
DATA_ROOT = os.environ.get("BENCH_DATA_ROOT", "/tmp/textwheel-bench-fuzz")

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


def caller():
    """A fresh user with the resources the bodies name, and an access key."""
    from tests.api import fuzz_bodies
    from webapp.accounts.services.access_keys import access_key_create
    from webapp.accounts.services.accounts import user_signup

    user = user_signup(username=f"fuzz-{time.time_ns()}", password="fuzz-horse-battery-9")
    fuzz_bodies.seed(user)
    key, secret = access_key_create(account=user.membership.account, user=user)
    return user.membership.account.account_id, key.key_id, secret


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="examples per run")
    parser.add_argument("--seed", type=int, default=None, help="fix hypothesis's seed")
    args = parser.parse_args()

    setup_django()
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st

    from tests.api import fuzz_bodies
    from tests.api.test_fuzz import row_counts
    from webapp.api.operations import OPERATIONS

    account_id, key_id, secret = caller()
    examples = fuzz_bodies.pattern_examples(account_id)
    server = Server(2, 8, log=Path(DATA_ROOT) / "fuzz-gunicorn.log")
    by_status: collections.Counter = collections.Counter()
    by_code: collections.Counter = collections.Counter()
    by_operation: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    findings: list[str] = []
    started = time.monotonic()

    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # count everything; a finding is reported, not shrunk
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data):
        for operation in fuzz_bodies.operation_order(OPERATIONS):
            for mutation in fuzz_bodies.MUTATIONS:
                body = data.draw(fuzz_bodies.bodies(operation, examples, mutation))
                raw_body = fuzz_bodies.encode(body)
                before = row_counts()
                status, content_type, raw = fuzz_bodies.send(
                    server.url, key_id, secret, operation, raw_body
                )
                by_status[status] += 1
                by_operation[operation][status] += 1
                problems = fuzz_bodies.shape_problems(status, content_type, raw)
                try:
                    answer = json.loads(raw)
                except ValueError:
                    answer = {}
                if status >= 400:
                    by_code[f"{status} {answer.get('__type')}"] += 1
                    if row_counts() != before:
                        problems.append("rows changed on a refusal")
                if problems:
                    findings.append(
                        f"{operation} [{mutation}] {problems}: {raw_body[:300]!r} -> {raw[:300]!r}"
                    )

    if args.seed is not None:
        run = seed(args.seed)(run)
    try:
        run()
    finally:
        log = server.stop()
    elapsed = time.monotonic() - started
    total = sum(by_status.values())
    print(f"{total} requests in {elapsed:.0f} s ({total / elapsed:.0f} req/s)")
    print("by status:", dict(sorted(by_status.items())))
    for code, count in by_code.most_common():
        print(f"  {count:6d}  {code}")
    print("by operation (status: count):")
    for operation, counts in sorted(by_operation.items()):
        print(f"  {operation:36s} " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    print(f"5xx: {sum(n for s, n in by_status.items() if s >= 500)}")
    print(f"findings: {len(findings)}")
    for line in findings[:50]:
        print("  " + line)
    print(f"tracebacks in the server log: {log.count('Traceback')}")


if __name__ == "__main__":
    main()
