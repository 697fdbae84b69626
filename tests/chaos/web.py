"""The web process as production runs it: gunicorn with gunicorn.conf.py (gthread
workers), the real settings (DEBUG off), on the test database and a private Redis."""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from ..worker import ROOT, test_database_url
from .servers import free_port


class WebServer:
    def __init__(self, *, redis_url: str, env: dict | None = None):
        self.port = free_port()
        self.redis_url = redis_url
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / ".pytest_cache" / f"web-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "WebServer":
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "notifications_project.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback, no proxy in front
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": self.redis_url,
            "PORT": str(self.port),
            "LOG_FORMAT": "plain",
            **self.env,
        }
        self.log_path.parent.mkdir(exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (owned by the process)
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "notifications_project.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                requests.get(f"{self.url}/api/v1/", timeout=10)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer in {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
