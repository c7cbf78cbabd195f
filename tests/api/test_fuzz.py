"""Generated bodies for every operation: never a 5xx, always AWS's shape, nothing written on a refusal.

A short, reproducible run (derandomize); bench/fuzz_api.py runs the same bodies far longer.
"""

import json

import pytest
from django.apps import apps
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api import fuzz_bodies
from webapp.accounts.services.access_keys import access_key_create
from webapp.api.operations import OPERATIONS

# Each example sends one body per operation and kind of mutation (174 requests); one test, so
# the live server's database is set up and flushed once.
EXAMPLES = 5


def row_counts() -> dict[str, int]:
    """Rows in every table a request could write, save the access key's last-used time; of the
    audit log only successes (refused and failed attempts are logged on purpose)."""
    tables = sorted(
        model._meta.db_table
        for label in ("models_app", "flywheel_app", "accounts", "webapp")
        for model in apps.get_app_config(label).get_models()
        if model._meta.db_table != "accounts_accesskey"
    )
    counts = [
        f'(SELECT count(*) FROM "{table}"'
        + (" WHERE outcome = 'Succeeded')" if table == "accounts_auditevent" else ")")
        for table in tables
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(counts))
        return dict(zip(tables, cursor.fetchone(), strict=True))


@pytest.fixture
def caller(live_server, owner):
    account = owner.membership.account
    fuzz_bodies.seed(owner)
    key, secret = access_key_create(account=account, user=owner)
    examples = fuzz_bodies.pattern_examples(account.account_id)
    return live_server.url + "/", key.key_id, secret, examples


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(data=st.data())
def test_generated_bodies_get_aws_answers(caller, data):
    base_url, key_id, secret, examples = caller
    for operation in fuzz_bodies.operation_order(OPERATIONS):
        for mutation in fuzz_bodies.MUTATIONS:
            body = data.draw(
                fuzz_bodies.bodies(operation, examples, mutation), label=f"{operation} {mutation}"
            )
            before = row_counts()
            status, content_type, raw = fuzz_bodies.send(
                base_url, key_id, secret, operation, fuzz_bodies.encode(body)
            )
            problems = fuzz_bodies.shape_problems(status, content_type, raw)
            assert not problems, (operation, mutation, problems, raw[:500])
            if status >= 400:
                answer = json.loads(raw)
                assert row_counts() == before, (operation, answer["__type"], "rows changed")
