"""Load shedding through HTTP against live servers (gunicorn as deployed, uvicorn as
`make run`): a flood of concurrent slow requests (bulk sends) on one web process gets
503s with Retry-After in the error envelope for what waited past the budget, never a
500, and every 503 wrote nothing; one request at a time sees none."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from apps.common.services import api_key_create
from apps.events.event_types import event_type_ensure
from apps.notifications.models import DirectSend

from ..inbox.servers import gunicorn_process, uvicorn_process

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FLOOD = 64
# A slow request: a bulk of this many sends takes a tenth of a second or more.
BULK = 100
# One process, one request at a time: the sixteenth bulk of a flood waits far past
# this budget, the first not at all.
BUDGET_ENV = {"LOAD_SHED_QUEUE_BUDGET_MS": "100", "LOAD_SHED_RETRY_AFTER_SECONDS": "2"}


@pytest.fixture
def sender(make_user):
    event_type_ensure(key="shed.test", name="Shed test")
    people = [make_user(f"shed{n}").pk for n in range(3)]
    _, key = api_key_create(name="shed test", scopes=["notifications:write"])
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"

    def one(n):
        return {"event_type": "shed.test", "recipients": people, "channels": ["in_app"], "data": {"n": n}}

    # A connection of its own each: the flood arrives at once, as from many clients.
    def send(base_url, n):
        return requests.post(f"{base_url}/api/v1/notifications/", json=one(n), headers=session.headers, timeout=30)

    def send_bulk(base_url, n):
        body = {"notifications": [one(n * BULK + i) for i in range(BULK)]}
        return requests.post(f"{base_url}/api/v1/notifications/bulk/", json=body, headers=session.headers, timeout=60)

    send.bulk = send_bulk
    return send


SERVERS = {
    # One thread: the flood queues in gunicorn's pool, and the queue budget sheds it.
    "gunicorn": lambda: gunicorn_process(BUDGET_ENV, threads=1),
    # Django under ASGI runs each sync request on a thread of its own: they do not queue
    # but run all at once, and the in-flight bound sheds them.
    "uvicorn": lambda: uvicorn_process({**BUDGET_ENV, "LOAD_SHED_MAX_IN_FLIGHT": "2"}),
}


@pytest.mark.parametrize("server_kind", SERVERS)
def test_a_flood_is_shed_with_503_and_retry_after_and_nothing_written(server_kind, sender):
    server = SERVERS[server_kind]().start()
    try:
        sender(server.url, -1).raise_for_status()  # warm: the first request loads the URLconf
        before = DirectSend.objects.count()
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda n: sender.bulk(server.url, n), range(16)))
        statuses = [answer.status_code for answer in answers]
        shed = [answer for answer in answers if answer.status_code == 503]
        assert set(statuses) <= {202, 503}, statuses
        assert shed, f"nothing was shed: {statuses}"
        assert statuses.count(202) > 0, statuses
        for answer in shed:
            assert answer.headers["Retry-After"] == "2"
            assert answer.json() == {
                "error": {
                    "code": "overloaded",
                    "message": "The service is overloaded; nothing was done. Retry after the given delay.",
                    "details": {"retry_after": 2},
                }
            }
        # Only the accepted sends exist: a shed one never reached the view.
        assert DirectSend.objects.count() - before == statuses.count(202) * BULK

        calm = [sender.bulk(server.url, 100 + n).status_code for n in range(5)]
        calm += [sender(server.url, n).status_code for n in range(20)]
        assert calm == [202] * 25
    finally:
        server.stop()


def test_more_in_flight_than_the_bound_is_shed(sender):
    """Four threads in one process, at most one request running: the others answer 503."""
    server = gunicorn_process({"LOAD_SHED_QUEUE_BUDGET_MS": "0", "LOAD_SHED_MAX_IN_FLIGHT": "1"}, threads=4).start()
    try:
        before = DirectSend.objects.count()
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda n: sender(server.url, n), range(FLOOD)))
        statuses = [answer.status_code for answer in answers]
        assert set(statuses) <= {202, 503}, statuses
        assert 503 in statuses and 202 in statuses, statuses
        assert all(a.json()["error"]["code"] == "overloaded" for a in answers if a.status_code == 503)
        assert DirectSend.objects.count() - before == statuses.count(202)
        assert [sender(server.url, n).status_code for n in range(10)] == [202] * 10
    finally:
        server.stop()


def test_health_is_never_shed(sender):
    server = gunicorn_process({"LOAD_SHED_QUEUE_BUDGET_MS": "1", "LOAD_SHED_MAX_IN_FLIGHT": "1"}, threads=4).start()
    try:

        def health(_):
            return requests.get(f"{server.url}/health/", timeout=30).status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(health, range(64)))
        assert statuses == [200] * 64
    finally:
        server.stop()
