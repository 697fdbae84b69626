"""scripts/wait_ready.py, which `make run` starts beside honcho: it says the service is
ready only once the web answers /health/ and a worker answers a Celery ping."""

import os
import subprocess
import sys

import pytest

from ..worker import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_ready(*args, timeout=60):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "notifications_project.settings_test"}
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
    assert celery_worker.name.split("@")[0] in result.stdout  # the worker that answered


def test_not_ready_without_a_web(celery_worker):
    result = wait_ready("--url", "http://127.0.0.1:1", "--timeout", "3")
    assert result.returncode == 1
    assert "NOT ready" in result.stdout and "/health/" in result.stdout
