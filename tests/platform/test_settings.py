"""Settings come from the environment; the embedded default needs nothing installed."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from django.db import connection

from tests.conftest import REPO

PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'name': str(settings.DATABASES['default']['NAME']), 'redis': settings.REDIS_URL, "
    "'region': settings.AWS_REGION, 'debug': settings.DEBUG}))"
)


def _settings_with(env_overrides: dict, drop=()) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = "webapp.settings"
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_the_suite_runs_on_postgres():
    assert connection.vendor == "postgresql"


def test_the_embedded_default_uses_sqlite_under_data_root(tmp_path):
    probe = _settings_with(
        {"DATA_ROOT": str(tmp_path)}, drop=("DATABASE_URL", "REDIS_URL", "AWS_REGION", "DEBUG")
    )
    assert probe["engine"] == "django.db.backends.sqlite3"
    assert probe["name"] == str(tmp_path / "textwheel.sqlite3")
    assert probe["redis"] == "redis://127.0.0.1:6379/0"
    assert probe["region"] == "us-east-1"
    assert probe["debug"] is False


def test_postgres_is_used_when_database_url_says_so(tmp_path):
    probe = _settings_with(
        {"DATA_ROOT": str(tmp_path), "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/elsewhere"}
    )
    assert probe["engine"] == "django.db.backends.postgresql"
    assert probe["name"] == "elsewhere"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_starts_everything_on_the_embedded_default(tmp_path):
    """No DATABASE_URL and no REDIS_URL: serve makes its own database and Redis and answers."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATA_ROOT=str(tmp_path), WEB_WORKERS="1")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        body = None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2) as r:
                    body = json.loads(r.read())
            except OSError:
                time.sleep(0.5)
        assert body == {"status": "ok"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/css/console.css") as r:
            assert r.status == 200
        assert (tmp_path / "textwheel.sqlite3").exists()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "Redis: starting Textwheel's own" in out
    assert f"Textwheel is running at http://127.0.0.1:{port}/" in out
