"""The production web serves the API docs' own files: after `collectstatic` (as the
Dockerfile runs it), gunicorn with DEBUG off answers /api/docs/ and every script and
style the page names from /static/ (WhiteNoise), with no proxy in front."""

import os
import re
import subprocess
import sys

import pytest
import requests
from cryptography.fernet import Fernet

from .. import worker
from ..sinks import free_port
from ..worker import ROOT, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_gunicorn_with_debug_off_serves_the_docs_and_their_static_files(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(STATIC_ROOT=str(tmp_path / "static"), LOG_FORMAT="plain")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**env, "DEBUG": "true"},
        check=True,
    )
    port = free_port()
    env.update(
        DEBUG="false",
        SECRET_KEY=Fernet.generate_key().decode(),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=worker.test_database_url(),
        REDIS_URL=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9"),
        PORT=str(port),
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
    )
    log = open(ROOT / ".pytest_cache" / "gunicorn-static.log", "ab")  # noqa: SIM115 (owned by the process)
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "notifications_project.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(base_url, web), timeout=60, interval=0.3, message="gunicorn to answer")
        for page in ("/api/docs/", "/api/redoc/"):
            html = requests.get(base_url + page, timeout=10)
            assert html.status_code == 200
            assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html.text)
            assert assets, page
            for asset in assets:
                response = requests.get(base_url + asset, timeout=10)
                assert response.status_code == 200, asset
                assert response.headers["Content-Type"].split(";")[0] in {
                    "text/javascript",
                    "application/javascript",
                    "text/css",
                    "image/png",
                }, asset
        assert requests.get(f"{base_url}/static/not-collected.js", timeout=10).status_code == 404
    finally:
        web.terminate()
        web.wait(30)


def _answers(base_url: str, web: subprocess.Popen) -> bool:
    assert web.poll() is None, "gunicorn exited; see .pytest_cache/gunicorn-static.log"
    try:
        return requests.get(f"{base_url}/health/", timeout=2).status_code == 200
    except requests.RequestException:
        return False
