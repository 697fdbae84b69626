"""Live inbox streams as an attacker would use them: many streams from one token, streams
sent to the API's server, a stream process that dies holding slots. Each refusal is
made through HTTP against real servers (uvicorn, gunicorn) and checked for what it
left behind in Redis."""

import concurrent.futures
import json
import time
import urllib.error
import urllib.request

import pytest
from rest_framework.authtoken.models import Token

from apps.inbox.leases import stream_leases_key
from apps.inbox.live import inbox_channel, live_client

from ..inbox.servers import UvicornThread, gunicorn_process, uvicorn_process
from ..inbox.sse import SseStream
from ..scenarios_http import scenario_post
from ..worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
STREAM = "/api/v1/inbox/stream/"


@pytest.fixture(autouse=True)
def no_leases_left():
    """User ids start again with each test's database flush: no slot of an earlier
    test's person may count here."""
    client = live_client()
    for key in client.scan_iter(match=stream_leases_key("*")):
        client.delete(key)


@pytest.fixture
def stream_server(django_db_setup, settings):
    settings.INBOX_STREAM_KEEPALIVE_SECONDS = 1
    with UvicornThread() as server:
        yield server


def token_for(user) -> str:
    return Token.objects.create(user=user).key


def open_stream(base_url: str, token: str) -> SseStream:
    stream = SseStream(base_url, STREAM, {"Authorization": f"Token {token}"})
    assert stream.response.status == 200, stream.response.read()
    assert "retry" in stream.next_event()  # subscribed and holding its slot
    return stream


def refused(base_url: str, token: str):
    request = urllib.request.Request(base_url + STREAM, headers={"Authorization": f"Token {token}"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    return error.value.code, error.value.headers, json.loads(error.value.read())


def leases(user) -> int:
    return live_client().zcard(stream_leases_key(user.pk))


def subscribers(user) -> int:
    channel = inbox_channel(user.pk)
    return dict(live_client().pubsub_numsub(channel))[channel.encode()]


def test_a_sixth_stream_of_one_person_is_refused_and_the_five_keep_streaming(
    stream_server, celery_worker, make_user, subscribe, event_types
):
    attacker, author = make_user("attacker"), make_user("author")
    subscribe(attacker, event_types["scenario.created"])
    token = token_for(attacker)
    streams = [open_stream(stream_server.url, token) for _ in range(5)]
    try:
        status, headers, body = refused(stream_server.url, token)
        assert status == 429
        assert body["error"]["code"] == "throttled"
        assert body["error"]["details"] == {"retry_after": int(headers["Retry-After"]), "limit": 5}
        assert int(headers["Retry-After"]) >= 3
        # The refusal took no slot and left no subscription behind.
        assert leases(attacker) == 5 and subscribers(attacker) == 1

        scenario_post(stream_server.url, token_for(author), "Still live")
        for stream in streams:
            assert stream.next_notification()["title"] == 'Scenario "Still live" created'
    finally:
        for stream in streams:
            stream.close()
    wait_until(lambda: leases(attacker) == 0 and subscribers(attacker) == 0, timeout=10, message="slots freed")


def test_closing_a_stream_frees_its_slot(stream_server, make_user):
    person = make_user("person")
    token = token_for(person)
    streams = [open_stream(stream_server.url, token) for _ in range(5)]
    try:
        assert refused(stream_server.url, token)[0] == 429
        streams.pop().close()
        wait_until(lambda: leases(person) == 4, timeout=10, message="the closed stream's slot to free")
        streams.append(open_stream(stream_server.url, token))
        assert leases(person) == 5
    finally:
        for stream in streams:
            stream.close()


def test_the_slots_of_a_killed_stream_process_expire(stream_server, make_user, settings):
    """SIGKILL: no stream ends, no lease is released; the leases expire by themselves."""
    person = make_user("person")
    token = token_for(person)
    settings.INBOX_STREAM_LEASE_SECONDS = 3  # the killed process's setting, for the retry hint
    doomed = uvicorn_process({"INBOX_STREAM_KEEPALIVE_SECONDS": "1", "INBOX_STREAM_LEASE_SECONDS": "3"}).start()
    try:
        held = [open_stream(doomed.url, token) for _ in range(5)]
        doomed.kill()
        killed_at = time.monotonic()
    finally:
        doomed.stop()
    for stream in held:
        stream.close()
    assert leases(person) == 5
    # Right after the crash the slots are still held: the cap holds across processes...
    assert refused(stream_server.url, token)[0] == 429
    # ...and within a lease's time they are free again, without anyone cleaning up.
    wait_until(lambda: leases(person) == 0, timeout=10, message="the dead process's leases to expire")
    assert time.monotonic() - killed_at < 6
    streams = [open_stream(stream_server.url, token) for _ in range(5)]
    for stream in streams:
        stream.close()


def api_latencies(base_url: str, token: str, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        request = urllib.request.Request(f"{base_url}/api/v1/inbox/", headers={"Authorization": f"Token {token}"})
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        timings.append(time.monotonic() - started)
    return timings


def test_fifty_open_streams_leave_the_sync_api_answering(make_user, settings):
    """The old failure: streams held the web's threads, so a few dozen blocked the API.
    Now 50 streams are open on the stream process, and 50 more sent at the API's own
    gunicorn (4 threads) are refused at once instead of taking its threads."""
    settings.INBOX_STREAM_KEEPALIVE_SECONDS = 1
    people = [make_user(f"watcher{n}") for n in range(10)]
    tokens = [token_for(person) for person in people]
    reader = token_for(make_user("reader"))
    api = gunicorn_process({"INBOX_STREAM_KEEPALIVE_SECONDS": "1"}, threads=4).start()
    streams_server = uvicorn_process({"INBOX_STREAM_KEEPALIVE_SECONDS": "1"}).start()
    streams = []
    try:
        streams = [open_stream(streams_server.url, tokens[n // 5]) for n in range(50)]
        assert sum(leases(person) for person in people) == 50

        def misrouted(token):
            started = time.monotonic()
            status, _, body = refused(api.url, token)
            return status, body["error"]["code"], time.monotonic() - started

        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(misrouted, [tokens[n // 5] for n in range(50)]))
        # Refused at once: as misrouted, or, for those that queued behind the 4 threads
        # past the web's queue budget, shed as overloaded (apps/common/load_shedding.py).
        assert {status for status, _, _ in answers} == {503}
        assert {code for _, code, _ in answers} <= {"unavailable", "overloaded"}
        assert any(code == "unavailable" for _, code, _ in answers)
        assert max(took for _, _, took in answers) < 5
        # Nothing taken by the refused ones: still exactly the 50 real streams' slots.
        assert sum(leases(person) for person in people) == 50

        timings = api_latencies(api.url, reader, 20)
        assert max(timings) < 1.0, timings
        for stream in streams[:3]:  # and the streams are still alive
            assert stream.next_event()["comments"] == ["keep-alive"]
    finally:
        for stream in streams:
            stream.close()
        streams_server.stop()
        api.stop()
