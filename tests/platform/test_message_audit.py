"""The suite's message audit hears every message users can see and knows a leak when it sees one."""

import psycopg
from django.conf import settings

from models_app.models import ModelVersion
from tests import factories, message_audit
from tests.conftest import database_url
from webapp.core.errors import invalid_request


def test_it_flags_paths_tracebacks_and_reprs():
    leaks = [
        f"An internal error ({settings.DATA_ROOT}/s3/1/data/x)",
        "NotADirectoryError: [Errno 20] Not a directory: '/tmp/elsewhere/out'",
        f"{message_audit.REPO}/models_app/services/x.py failed",
        "Traceback (most recent call last):",
        "Failed: <models_app.ml.classifier.Model object at 0x7f3a2b1c>",
        "Cannot read /root/.aws/credentials",
    ]
    assert all(message_audit.problems(m) for m in leaks)
    fine = [
        "The object s3://data/tmp/train.csv does not exist.",
        "Value 's3://data/work/' at 'OutputDataConfig.S3Uri' failed to satisfy constraint.",
        "line 42 of s3://data/train.csv: the text is empty.",
    ]
    assert not any(message_audit.problems(m) for m in fine)


def test_it_hears_service_errors_and_rolled_back_row_messages(owner):
    invalid_request("a refusal the audit must hear")
    assert "a refusal the audit must hear" in message_audit.recorded()
    version = factories.version(owner, message="an error message on a row")
    ModelVersion.objects.filter(pk=version.pk).update(message="a later message on the row")
    heard = message_audit.recorded()
    assert heard["an error message on a row"] == "models_app_modelversion"
    assert heard["a later message on the row"] == "models_app_modelversion"


def test_it_keeps_messages_written_by_other_processes(owner, transactional_db):
    version = factories.version(owner)
    # Another connection, as a worker process has: its message reaches the audit's own table.
    with psycopg.connect(database_url().replace("postgres://", "postgresql://")) as other:
        other.execute(
            "UPDATE models_app_modelversion SET message = %s WHERE id = %s",
            ["written by a worker", version.pk],
        )
    stored = dict((m, s) for s, m in message_audit._stored())
    assert stored.get("written by a worker") == "models_app_modelversion"
