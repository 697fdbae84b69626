"""Real web servers for the live stream tests: uvicorn (the ASGI stream process) in a
thread of the test process or as a process of its own, and gunicorn (the sync API)."""

import os
import socket
import subprocess
import sys
import threading
import urllib.request

import uvicorn

from ..worker import ROOT, wait_until
from ..worker import test_database_url as worker_database_url

LOGS = ROOT / ".pytest_cache"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers_health(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/health/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class UvicornThread:
    """The project's ASGI application under uvicorn in a thread: it sees the test's
    settings (the `settings` fixture) and database, and its metrics are this process's."""

    def __init__(self):
        from notifications_project.asgi import application

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            application, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self):
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=20, message="uvicorn to start")
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(20)


class ServerProcess:
    """A web server as a process of its own, on the test database."""

    def __init__(self, name: str, argv: list[str], port: int, env: dict | None = None):
        self.name, self.argv, self.port = name, argv, port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "notifications_project.settings_test",
            "DATABASE_URL": worker_database_url(),
            **(env or {}),
        }
        self.log_path = LOGS / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "ServerProcess":
        self.log_path.parent.mkdir(exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

        def healthy():
            assert self.process.poll() is None, f"{self.name} exited; see {self.log_path}"
            return answers_health(self.url)

        wait_until(healthy, timeout=30, interval=0.2, message=f"{self.name} to answer /health/")
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind, as when a host dies."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def uvicorn_process(env: dict | None = None) -> ServerProcess:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "notifications_project.asgi:application",
        "--port",
        str(port),
        "--lifespan",
        "off",
        "--no-access-log",
    ]
    return ServerProcess("uvicorn", argv, port, env)


def gunicorn_process(env: dict | None = None, threads: int = 4) -> ServerProcess:
    """gunicorn as deployed (gunicorn.conf.py: gthread), one process."""
    port = free_port()
    env = {"PORT": str(port), "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": str(threads), **(env or {})}
    return ServerProcess(
        "gunicorn", [sys.executable, "-m", "gunicorn", "notifications_project.wsgi:application"], port, env
    )
