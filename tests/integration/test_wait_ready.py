"""scripts/wait_ready.py, which `make run` starts beside honcho: it says the service is
ready only once the web answers /health/ and a worker answers a Celery ping."""

import os
import subprocess
import sys

import pytest

from ..worker import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_ready(*args, timeout=60, env=None):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "notifications_project.settings_test", **(env or {})}
    return subprocess.run(
        [sys.executable, "scripts/wait_ready.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_ready_when_web_and_worker_answer(live_server, celery_worker):
    result = wait_ready("--url", live_server.url, "--timeout", "30")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The service is ready." in result.stdout
    assert f"Web inbox: {live_server.url}/inbox/" in result.stdout
    assert f"Mailbox:   {live_server.url}/dev/mailbox/" in result.stdout
    assert celery_worker.name.split("@")[0] in result.stdout  # the worker that answered


def test_not_ready_without_a_web(celery_worker):
    result = wait_ready("--url", "http://127.0.0.1:1", "--timeout", "3")
    assert result.returncode == 1
    assert "NOT ready" in result.stdout and "/health/" in result.stdout


def test_waits_on_the_port_the_procfile_web_binds(live_server, celery_worker):
    """The Procfile's web binds ${WEB_PORT:-8000} (honcho sets PORT for every process,
    so PORT is not the web's)."""
    port = live_server.url.rsplit(":", 1)[1]
    assert "${WEB_PORT:-8000}" in (ROOT / "Procfile").read_text().split("\n", 1)[0]
    result = wait_ready("--timeout", "30", env={"WEB_PORT": port, "PORT": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Web inbox: http://127.0.0.1:{port}/inbox/" in result.stdout
