"""`manage.py serve` keeps its children running: one that exits is started again, with back-off;
and it keeps its queues in a Redis of its own unless REDIS_URL names one."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.conftest import REPO, database_url
from webapp.core.background import wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> dict[int, str]:
    """Child processes of `pid`, with their command lines."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found[int(stat.parent.name)] = (
                    (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                )
        except (OSError, ValueError):
            continue
    return found


def _child(pid: int, word: str) -> int | None:
    return next((child for child, cmd in _children(pid).items() if word in cmd), None)


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=5)
    except urllib.error.HTTPError:
        return True  # any HTTP answer: the server is up
    except OSError:
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Serve:
    def __init__(self, tmp_path, port: int, **environ):
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url(),
            REDIS_URL=settings.REDIS_URL,
            DATA_ROOT=str(settings.DATA_ROOT),
            WEB_WORKERS="1",
        )
        env.update(environ)
        if not env["REDIS_URL"]:
            del env["REDIS_URL"]
        self.log = open(tmp_path / "serve.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "manage.py"), "serve", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything serve left behind
        except ProcessLookupError:
            pass


@pytest.fixture
def serve(transactional_db, tmp_path):
    started = []

    def start(port: int, **environ) -> Serve:
        started.append(Serve(tmp_path, port, **environ))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_serve_restarts_a_child_that_was_killed(serve):
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    server = serve(port)
    assert wait_for(lambda: _answers(url), 120), server.output()
    worker = _child(server.proc.pid, "rqworker")
    assert worker is not None, server.output()

    os.kill(worker, signal.SIGKILL)
    assert wait_for(lambda: _child(server.proc.pid, "rqworker") not in (None, worker), 60), (
        server.output()
    )
    gunicorn = _child(server.proc.pid, "gunicorn")
    os.kill(gunicorn, signal.SIGKILL)
    assert wait_for(lambda: _child(server.proc.pid, "gunicorn") not in (None, gunicorn), 60)
    assert wait_for(lambda: _answers(url), 120), server.output()
    assert server.proc.poll() is None
    log = server.output()
    assert "rqworker 1 exited" in log and "gunicorn exited" in log
    assert "Restarting rqworker 1." in log and "Restarting gunicorn." in log

    children = list(_children(server.proc.pid))
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=60)
    assert children and not [pid for pid in children if _alive(pid)]


def test_serve_gives_up_on_a_child_that_keeps_failing_at_once(serve):
    with socket.socket() as taken:  # gunicorn can never bind this port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = serve(taken.getsockname()[1])
        server.proc.wait(timeout=300)
    assert server.proc.returncode != 0
    log = server.output()
    assert "gunicorn exited at once 5 times in a row" in log, log


def test_serve_starts_its_own_redis_even_when_one_answers_on_6379(serve, tmp_path):
    """Without REDIS_URL, the queues live in a redis-server serve starts, under DATA_ROOT; a Redis
    that happens to answer on the default port is left alone."""
    assert shutil.which("redis-server"), (
        "the test needs redis-server (apt-get install redis-server)"
    )
    other = redis.Redis(host="127.0.0.1", port=6379)
    assert other.ping()  # the Redis the tests use answers on the default port
    data_root = tmp_path / "data"
    server = serve(_free_port(), REDIS_URL="", DATA_ROOT=str(data_root), RQ_WORKERS="1")
    own = re.compile(r"Redis: starting Textwheel's own on 127\.0\.0\.1:(\d+) \(files in (.+)\);")
    assert wait_for(lambda: own.search(server.output()), 60), server.output()
    port, folder = own.search(server.output()).groups()
    assert int(port) != 6379 and folder == str(data_root.resolve() / "redis")
    assert wait_for(lambda: _child(server.proc.pid, "redis-server") is not None, 30)
    command = _children(server.proc.pid)[_child(server.proc.pid, "redis-server")]
    # redis-server retitles itself "redis-server 127.0.0.1:<port>" once it listens.
    assert re.search(rf"(--port {port} --bind 127\.0\.0\.1|127\.0\.0\.1:{port})\b", command)

    # The worker registers in serve's own Redis, not in database 0 on 6379.
    mine = redis.Redis(host="127.0.0.1", port=int(port))
    assert wait_for(lambda: mine.scard("rq:workers") > 0, 120), server.output()
    workers = {name.decode() for name in mine.smembers("rq:workers")}
    assert not workers & {name.decode() for name in other.smembers("rq:workers")}


def test_serve_says_which_redis_it_was_given(serve):
    server = serve(_free_port())
    expected = f"Redis: {settings.REDIS_URL} (from REDIS_URL)."
    assert wait_for(lambda: expected in server.output(), 60), server.output()
    assert _child(server.proc.pid, "redis-server") is None


def test_serve_stops_when_the_given_redis_does_not_answer(serve):
    server = serve(_free_port(), REDIS_URL=f"redis://:secret@127.0.0.1:{_free_port()}/0")
    server.proc.wait(timeout=60)
    assert server.proc.returncode != 0
    log = server.output()
    assert "No Redis answers at REDIS_URL (redis://:***@127.0.0.1:" in log, log
    assert "secret" not in log
