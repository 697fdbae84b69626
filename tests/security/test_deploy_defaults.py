"""Production defaults, tried on started processes as an operator deploying with only
the required settings would: `check --deploy` passes, a missing encryption key or the
development one stops the start, the demo staff account is never created, and the web
and Flower listen on the loopback unless told otherwise."""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.auth import get_user_model

from .. import worker

ROOT = Path(__file__).resolve().parent.parent.parent
# Settings of ours that a deployment could have in its environment; the tests start clean.
OURS = re.compile(r"^(SECURE_|SESSION_COOKIE_|CSRF_COOKIE_|X_FRAME_|FIELD_ENCRYPTION_|WEB_BIND_|ALLOWED_HOSTS$)")


def production_env(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if not OURS.match(k)}
    env.update(
        DJANGO_SETTINGS_MODULE="notifications_project.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def manage(*args, env, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_check_deploy_passes_with_debug_off_and_the_required_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "weakened, warning",
    [
        ({"SESSION_COOKIE_SECURE": "false"}, "security.W012"),
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
        ({"CSRF_COOKIE_SECURE": "false"}, "security.W016"),
    ],
)
def test_check_deploy_fails_when_a_default_is_weakened(weakened, warning):
    """The check above can fail: each safe default is what makes it pass."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(**weakened))
    assert result.returncode != 0 and warning in result.stdout + result.stderr


@pytest.mark.parametrize("keys", [None, "", "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktISE="])
def test_production_refuses_to_start_without_a_real_encryption_key(keys):
    result = manage("check", env=production_env(FIELD_ENCRYPTION_KEYS=keys))
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS is missing or holds the development key" in result.stderr


@pytest.mark.parametrize("keys", ["not-a-key", Fernet.generate_key().decode() + ",short"])
def test_production_refuses_to_start_with_a_key_that_is_not_a_fernet_key(keys):
    result = manage("check", env=production_env(FIELD_ENCRYPTION_KEYS=keys))
    assert result.returncode != 0 and "not a Fernet key" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_load_demo_never_creates_the_demo_admin_with_debug_off(event_types):
    env = production_env(DATABASE_URL=worker.test_database_url())
    result = manage("load_demo", env=env)
    assert result.returncode != 0 and "only runs with DEBUG=true" in result.stderr
    assert not get_user_model().objects.exists()

    # The same command with DEBUG on does create it (so the refusal above is the setting's doing).
    result = manage("load_demo", env={**env, "DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    assert get_user_model().objects.get(username="admin").is_staff


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on the port (from /proc/net/tcp): 0.0.0.0
    would mean every interface."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address_hex, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address_hex)[::-1]))
    return found


def test_the_procfile_web_listens_on_the_loopback_by_default():
    port = free_port()
    web_line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    command = web_line.removeprefix("web:").strip().replace("python ", f"{sys.executable} ", 1)
    env = {
        **os.environ,
        "DEBUG": "true",
        "WEB_PORT": str(port),
        "DJANGO_SETTINGS_MODULE": "notifications_project.settings",
    }
    env.pop("WEB_BIND_ADDRESS", None)
    process = subprocess.Popen(
        ["sh", "-c", f"exec {command}"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not listening_addresses(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert listening_addresses(port) == {"127.0.0.1"}
        assert requests.get(f"http://127.0.0.1:{port}/health/", timeout=10).status_code in (200, 503)
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_gunicorn_and_flower_bind_the_loopback_unless_told():
    env = {k: v for k, v in os.environ.items() if k not in ("WEB_BIND_ADDRESS", "PORT")}
    read = "import runpy; print(runpy.run_path('gunicorn.conf.py')['bind'])"
    assert (
        subprocess.run([sys.executable, "-c", read], cwd=ROOT, env=env, capture_output=True, text=True).stdout.strip()
        == "127.0.0.1:8000"
    )
    told = {**env, "WEB_BIND_ADDRESS": "0.0.0.0", "PORT": "9000"}
    assert (
        subprocess.run([sys.executable, "-c", read], cwd=ROOT, env=told, capture_output=True, text=True).stdout.strip()
        == "0.0.0.0:9000"
    )
    flower = (ROOT / "scripts" / "flower.sh").read_text()
    assert re.findall(r"--address=\S+", flower) == ['--address="${FLOWER_ADDRESS:-127.0.0.1}"', "--address=127.0.0.1"]
    assert settings.SECURE_SSL_REDIRECT is False  # the tests run with DEBUG on: development defaults
