"""Every message the suite makes users see, checked once at the end for what no message may show.

Two sources, both recorded without touching the code under test:
- every ServiceError made in this process (the API's error shapes and the console's form and
  page errors are all built from one), by wrapping its constructor;
- every `message` written to a row users read (model versions, endpoints, analysis jobs and
  their tasks), by a PostgreSQL trigger on each table with a `message` column. The trigger
  copies the message into a table of its own, which the flushes between transactional tests leave
  alone, so the writes of real `manage.py rqworker` processes count; it also raises a NOTICE,
  which this process hears even when the test's transaction is rolled back afterwards.

At the end of the session, a message showing the DATA_ROOT or repository path, a server folder,
a traceback or a Python object's repr fails the run, listing each one.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.backends.signals import connection_created

from webapp.core.errors import ServiceError

REPO = Path(__file__).resolve().parent.parent
TABLE = "test_message_audit"
NOTICE = "textwheel-message-audit: "
SERVER_FOLDERS = ("/tmp/", "/work/", "/root/")
REPR = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")
# A value echoed back inside an S3 URI is the client's own key, not a server path.
S3_URI = re.compile(r"s3://[^\s'\"]*")

_seen: dict[str, str] = {}  # message -> where it was first seen


def record(message, source: str) -> None:
    if isinstance(message, str) and message and message not in _seen:
        _seen[message] = source


def recorded() -> dict[str, str]:
    """The messages recorded so far in this process (the trigger's table is read at the end)."""
    return dict(_seen)


def problems(message: str) -> list[str]:
    """What a message shows that it must not; empty when it is fine."""
    found = [
        what
        for what, path in (("DATA_ROOT", str(settings.DATA_ROOT)), ("repository", str(REPO)))
        if path and path in message
    ]
    outside_uris = S3_URI.sub("s3://…", message)
    found += [f"'{folder}'" for folder in SERVER_FOLDERS if folder in outside_uris]
    if "Traceback" in message:
        found.append("a traceback")
    if REPR.search(message):
        found.append("a Python repr")
    return found


_original_init = ServiceError.__init__


def _recording_init(self, code, message, *args, **kwargs):
    _original_init(self, code, message, *args, **kwargs)
    record(self.message, f"ServiceError {code}")


ServiceError.__init__ = _recording_init


def _listen(sender, connection, **kwargs):
    if connection.vendor != "postgresql":
        return

    def heard(diagnostic):
        text = diagnostic.message_primary or ""
        if text.startswith(NOTICE):
            source, _, message = text[len(NOTICE) :].partition(": ")
            record(message, source)

    connection.connection.add_notice_handler(heard)


connection_created.connect(_listen, dispatch_uid="message-audit")

_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {TABLE}_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.message IS NOT NULL AND NEW.message <> '' THEN
        INSERT INTO {TABLE} (source, message) VALUES (TG_TABLE_NAME, NEW.message);
        RAISE NOTICE '{NOTICE}%: %', TG_TABLE_NAME, NEW.message;
    END IF;
    RETURN NEW;
END $$
"""


def _install() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} "
            "(id bigserial PRIMARY KEY, source text NOT NULL, message text NOT NULL)"
        )
        cursor.execute(f"TRUNCATE {TABLE}")  # a reused test database keeps the last run's
        cursor.execute(_FUNCTION)
        cursor.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND column_name = 'message' AND table_name NOT LIKE 'django_%%' "
            "AND table_name <> %s",
            [TABLE],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'DROP TRIGGER IF EXISTS {TABLE} ON "{table}"')
            cursor.execute(
                f'CREATE TRIGGER {TABLE} AFTER INSERT OR UPDATE OF message ON "{table}" '
                f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_record()"
            )


def _stored() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT source, message FROM {TABLE}")
        return cursor.fetchall()


@pytest.fixture(scope="session", autouse=True)
def _message_audit(django_db_setup, django_db_blocker):
    if connection.vendor != "postgresql":
        yield
        return
    with django_db_blocker.unblock():
        _install()
    yield
    with django_db_blocker.unblock():
        for source, message in _stored():
            record(message, source)
    bad = [
        f"{source}: {message!r} shows {', '.join(found)}"
        for message, source in _seen.items()
        if (found := problems(message))
    ]
    if bad:
        pytest.fail(
            f"{len(bad)} message(s) users can see show what no message may:\n" + "\n".join(bad),
            pytrace=False,
        )
