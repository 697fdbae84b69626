"""The live inbox stream on real servers: a scenario created through the HTTP API
reaches a subscriber's open stream (uvicorn, the ASGI stream process) through a real
worker and Redis pub/sub."""

import json
import time
import urllib.error
import urllib.request

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.authtoken.models import Token

from apps.events.models import Event, EventType
from apps.inbox.leases import stream_leases_key
from apps.inbox.live import inbox_channel, live_client
from apps.notifications.batch_refresh import batches_refresh
from apps.notifications.models import UserNotification
from apps.notifications.publish import event_publish

from ..inbox.servers import UvicornThread, gunicorn_process, uvicorn_process
from ..inbox.sse import SseStream
from ..worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


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


@pytest.fixture
def asgi_server(django_db_setup):
    with UvicornThread() as server:
        yield server


def test_stream_under_uvicorn(asgi_server, celery_worker, make_user, subscribe, event_types):
    stream_receives_new_scenario(asgi_server.url, make_user, subscribe, event_types, "Live on uvicorn")


def test_stream_under_a_uvicorn_process(celery_worker, make_user, subscribe, event_types):
    """As the Procfile and compose run it: uvicorn's own process and event loop."""
    server = uvicorn_process({"INBOX_STREAM_KEEPALIVE_SECONDS": "1"}).start()
    try:
        stream_receives_new_scenario(server.url, make_user, subscribe, event_types, "Live on its own process")
    finally:
        server.stop()


def test_reconnect_catches_up_from_last_event_id_and_sends_keepalives(asgi_server, make_user, event_types):
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
        asgi_server.url,
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
    # The server notices the closed client and lets the stream go.
    wait_until(lambda: streams_open() == 0, timeout=10, message="the stream to close")


def test_a_closed_stream_releases_its_subscription_and_its_slot(asgi_server, make_user):
    reader = make_user("reader")
    channel, leases = inbox_channel(reader.pk), stream_leases_key(reader.pk)

    def subscribers():
        return dict(live_client().pubsub_numsub(channel))[channel.encode()]

    stream = SseStream(asgi_server.url, "/api/v1/inbox/stream/", {"Authorization": f"Token {token_for(reader)}"})
    try:
        assert stream.response.status == 200
        assert subscribers() == 1 and live_client().zcard(leases) == 1
    finally:
        stream.close()
    wait_until(lambda: subscribers() == 0 and live_client().zcard(leases) == 0, timeout=10, message="the release")


def test_stream_answers_503_when_redis_is_down(settings, make_user):
    reader = make_user("reader")
    token = token_for(reader)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    with UvicornThread() as server:  # a new event loop: its Redis client takes the URL above
        request = urllib.request.Request(
            f"{server.url}/api/v1/inbox/stream/", headers={"Authorization": f"Token {token}"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 503
    assert json.loads(refused.value.read())["error"]["code"] == "unavailable"


@pytest.fixture(scope="module")
def gunicorn_server(django_db_setup):
    """One gunicorn (gthread, from gunicorn.conf.py) on the test database."""
    server = gunicorn_process({"INBOX_STREAM_KEEPALIVE_SECONDS": "1"}).start()
    try:
        yield server
    finally:
        server.stop()


def test_gunicorn_access_lines_are_json_with_the_request_id(gunicorn_server):
    request_id = f"gunicorn-{time.time_ns()}"
    request = urllib.request.Request(f"{gunicorn_server.url}/health/", headers={"X-Request-ID": request_id})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["X-Request-ID"] == request_id

    def access_line():
        for raw in gunicorn_server.log_path.read_text(errors="replace").splitlines():
            if request_id in raw and raw.startswith("{"):
                return json.loads(raw)
        return None

    line = wait_until(access_line, timeout=10, message="the access log line")
    assert line["logger"] == "gunicorn.access"
    assert '"GET /health/ HTTP/1.1" 200' in line["message"]
    assert line["message"].endswith(f"request_id={request_id}")


def test_a_batch_item_updates_live_while_its_window_is_open(asgi_server, celery_worker, make_user, subscribe):
    comments = EventType.objects.create(
        key="comment.added", name="Comment added", batch_window_seconds=600, batch_noun="comments"
    )
    reader = make_user("reader")
    subscribe(reader, comments)
    stream = SseStream(asgi_server.url, "/api/v1/inbox/stream/", {"Authorization": f"Token {token_for(reader)}"})
    try:
        assert stream.next_event()["retry"] == "3000"
        for title in ("First", "Second"):
            event, _ = event_publish(
                event_type=comments, subject=("scenarios.scenario", "1"), data={"name": "Checkout", "title": title}
            )
            if title == "First":
                first = stream.next_notification()
        wait_until(lambda: Event.objects.get(pk=event.pk).fanned_out_at, message="the second event counted")
        assert batches_refresh() == 1  # beat's refresh of the open windows' words
        updated = stream.next_notification(kind="notification_updated")
    finally:
        stream.close()
    assert first["title"] == "Comment added: First"
    assert updated["id"] == first["id"] and updated["updated"] is True
    assert updated["title"] == "2 new comments on Checkout" and updated["body"] == "- First\n- Second"
    assert UserNotification.objects.get(user=reader).title == updated["title"]
