"""A real Celery worker process for integration tests, on the test database."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from notifications_project.celery import app

ROOT = Path(__file__).resolve().parent.parent
ALL_QUEUES = ",".join(q.name for q in settings.CELERY_TASK_QUEUES)


def test_database_url() -> str:
    """The URL of the database the tests run on (pytest-django's test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(extra: dict) -> dict:
    """The environment of a Celery process started by a test: the test database, Redis
    and the broker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "notifications_project.settings_test",
        "DATABASE_URL": test_database_url(),
        "TEST_REDIS_URL": settings.REDIS_URL,
        "TEST_BROKER_URL": settings.CELERY_BROKER_URL,
        **extra,
    }


# Workers this test process started and has not stopped.
_live: set["Worker"] = set()


def stop_all_workers() -> None:
    """Stop every worker this process started (the session worker restarts on demand)."""
    for worker in list(_live):
        worker.stop()


class Worker:
    def __init__(
        self,
        name: str,
        queues: str = ALL_QUEUES,
        concurrency: int = 2,
        env: dict | None = None,
        args: list[str] | None = None,
        prefix: list[str] | None = None,
    ):
        self.name = f"{name}-{os.getpid()}@%h"
        self.queues = queues
        self.concurrency = concurrency
        self.env = env or {}
        self.args = args or []  # more worker options, e.g. ["--include", "some.module"]
        # What the worker runs under, e.g. ["ip", "netns", "exec", "host1"] (it must exec it).
        self.prefix = prefix or []
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / ".pytest_cache" / f"worker-{name}.log"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 60, exclusive: bool = False) -> "Worker":
        """Start and wait for a ping. exclusive: stop every other worker first, so no
        one else takes tasks from this worker's queues."""
        if exclusive:
            stop_all_workers()
        env = child_env(self.env)
        self.log_path.parent.mkdir(exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (owned by the process)
        self.process = subprocess.Popen(
            [
                *self.prefix,
                sys.executable,
                "-m",
                "celery",
                "-A",
                "notifications_project",
                "worker",
                "-n",
                self.name,
                "-Q",
                self.queues,
                "-c",
                str(self.concurrency),
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
                *self.args,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            return self._await_ping(timeout)
        except BaseException:
            self.kill()  # not left running when the test fails here (a ping that raised)
            raise

    def _await_ping(self, timeout: float) -> "Worker":
        deadline = time.monotonic() + timeout
        hostname = self.name.replace("%h", os.uname().nodename)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}; see {self.log_path}")
            replies = app.control.ping(destination=[hostname], timeout=0.5)
            if replies:
                _live.add(self)
                return self
        raise RuntimeError(f"worker did not answer a ping in {timeout}s; see {self.log_path}")

    @property
    def pool_pids(self) -> list[int]:
        """The pool children of the main process."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def kill_main(self) -> None:
        """SIGKILL the main process only; the pool children die with it (Celery sets
        their parent-death signal)."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), no cleanup."""
        _live.discard(self)
        if self.alive:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        _live.discard(self)
        if self.alive:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


class Beat:
    """A real `celery beat` on the database scheduler (the Procfile's), reading the test
    database's periodic tasks; --max-interval 1 so it sees one-second jobs on time."""

    def __init__(self, name: str, env: dict | None = None):
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / ".pytest_cache" / f"beat-{name}.log"

    def start(self) -> "Beat":
        self.log_path.parent.mkdir(exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (owned by the process)
        command = [sys.executable, "-m", "celery", "-A", "notifications_project", "beat"]
        options = ["-S", "django_celery_beat.schedulers:DatabaseScheduler", "--max-interval", "1", "-l", "INFO"]
        self.process = subprocess.Popen(
            [*command, *options],
            cwd=ROOT,
            env=child_env(self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def wait_until(predicate, timeout: float = 30, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
