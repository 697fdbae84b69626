"""The live inbox stream on real servers: a scenario created through the HTTP API
reaches a subscriber's open stream through a real worker and Redis pub/sub."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.authtoken.models import Token

from apps.events.models import Event
from apps.notifications.models import UserNotification

from ..inbox.sse import SseStream
from ..worker import ROOT, wait_until
from ..worker import test_database_url as worker_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
GUNICORN_LOG = ROOT / ".pytest_cache" / "gunicorn.log"


@pytest.fixture(autouse=True)
def short_keepalive(settings):
    # A closed client is noticed at the next keep-alive write.
    settings.INBOX_STREAM_KEEPALIVE_SECONDS = 1


def streams_open():
    return REGISTRY.get_sample_value("notifications_inbox_streams_open")


def token_for(user):
    return Token.objects.create(user=user).key


def api_post(base_url, path, token, body):
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def stream_receives_new_scenario(base_url, make_user, subscribe, event_types, name):
    reader, author = make_user("reader"), make_user("author")
    subscribe(reader, event_types["scenario.created"])
    stream = SseStream(base_url, "/api/v1/inbox/stream/", {"Authorization": f"Token {token_for(reader)}"})
    try:
        assert stream.response.status == 200
        assert stream.response.getheader("Content-Type").startswith("text/event-stream")
        assert stream.next_event()["retry"] == "3000"  # subscribed by now
        status, _ = api_post(base_url, "/api/v1/scenarios/", token_for(author), {"name": name})
        assert status == 201
        item = stream.next_notification()
    finally:
        stream.close()
    assert item["title"] == f'Scenario "{name}" created'
    assert item["event_type"] == "scenario.created" and item["is_read"] is False
    assert item["id"] == UserNotification.objects.get(user=reader).pk


def test_stream_under_the_development_server(live_server, celery_worker, make_user, subscribe, event_types):
    stream_receives_new_scenario(live_server.url, make_user, subscribe, event_types, "Live on runserver")


def test_reconnect_catches_up_from_last_event_id_and_sends_keepalives(live_server, make_user, event_types):
    reader = make_user("reader")
    event = Event.objects.create(event_type=event_types["scenario.created"], data={})
    seen = UserNotification.objects.create(event=event, user=reader, title="Seen", created_at=timezone.now())
    missed = [
        UserNotification.objects.create(
            event=Event.objects.create(event_type=event_types["scenario.created"], data={}),
            user=reader,
            title=f"Missed {index}",
            created_at=timezone.now(),
        )
        for index in range(2)
    ]
    # Streams of earlier tests end at their next keep-alive: start from none open.
    wait_until(lambda: streams_open() == 0, timeout=10, message="earlier streams to close")
    stream = SseStream(
        live_server.url,
        "/api/v1/inbox/stream/?after=0",
        {"Authorization": f"Token {token_for(reader)}", "Last-Event-ID": str(seen.pk)},
    )
    try:
        assert streams_open() == 1
        got = [stream.next_notification(), stream.next_notification()]
        assert [item["title"] for item in got] == ["Missed 0", "Missed 1"]
        assert [item["id"] for item in got] == [item.pk for item in missed]
        started = time.monotonic()
        assert stream.next_event()["comments"] == ["keep-alive"]
        assert time.monotonic() - started < 5
    finally:
        stream.close()
    # The server notices the closed client at its next keep-alive and lets the stream go.
    wait_until(lambda: streams_open() == 0, timeout=10, message="the stream to close")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn_server(django_db_setup):
    """One gunicorn (gthread, from gunicorn.conf.py) on the test database."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "notifications_project.settings_test",
        "DATABASE_URL": worker_database_url(),
        "INBOX_STREAM_KEEPALIVE_SECONDS": "1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
    }
    log_path = GUNICORN_LOG
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "notifications_project.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"

    def healthy():
        assert process.poll() is None, f"gunicorn exited; see {log_path}"
        try:
            with urllib.request.urlopen(base_url + "/health/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(healthy, timeout=30, interval=0.2, message="gunicorn to answer /health/")
        yield base_url
    finally:
        process.terminate()
        process.wait(20)


def test_stream_under_gunicorn(gunicorn_server, celery_worker, make_user, subscribe, event_types):
    stream_receives_new_scenario(gunicorn_server, make_user, subscribe, event_types, "Live on gunicorn")


def test_gunicorn_access_lines_are_json_with_the_request_id(gunicorn_server):
    request_id = f"gunicorn-{time.time_ns()}"
    request = urllib.request.Request(f"{gunicorn_server}/health/", headers={"X-Request-ID": request_id})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["X-Request-ID"] == request_id

    def access_line():
        for raw in GUNICORN_LOG.read_text(errors="replace").splitlines():
            if request_id in raw and raw.startswith("{"):
                return json.loads(raw)
        return None

    line = wait_until(access_line, timeout=10, message="the access log line")
    assert line["logger"] == "gunicorn.access"
    assert '"GET /health/ HTTP/1.1" 200' in line["message"]
    assert line["message"].endswith(f"request_id={request_id}")
