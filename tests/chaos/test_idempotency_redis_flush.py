"""Idempotency-Key answers outlive Redis: the private redis-server is emptied with
FLUSHALL between two requests with one key, and a client whose first request was
committed but answered 500 retries; each time the first answer comes back and nothing
is created twice. Through HTTP against a live server."""

import pytest
import redis
import requests

import apps.notifications.publish_api as publish_api
from apps.common.services import api_key_create
from apps.events.models import Event
from apps.notifications.models import DirectSend
from apps.notifications.publish import event_publish
from apps.notifications.publish_api import EventPublishApi
from apps.notifications.send_api import NotificationSendApi

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

CREATES = [
    ("/api/v1/events/", lambda user: {"event_type": "scenario.created", "data": {"n": 1}}),
    ("/api/v1/notifications/", lambda user: {"event_type": "scenario.created", "recipients": [user.pk]}),
    (
        "/api/v1/notifications/bulk/",
        lambda user: {"notifications": [{"event_type": "scenario.created", "recipients": [user.pk]}]},
    ),
]


@pytest.fixture
def private_cache(broker, settings):
    """The Django cache (throttling, the idempotency fast path) on the private Redis too,
    so FLUSHALL there empties everything the service keeps in Redis."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": broker.url(1)}}
    client = redis.Redis.from_url(broker.url(0))

    def flushall() -> None:
        client.flushall()
        assert redis.Redis.from_url(broker.url(1)).dbsize() == 0

    return flushall


@pytest.fixture
def caller(event_types, make_user):
    _, raw = api_key_create(name="retrying service")
    return {"Authorization": f"Bearer {raw}"}, make_user()


@pytest.mark.parametrize(("path", "make_body"), CREATES)
def test_same_key_after_flushall_replays_the_first_answer(live_server, private_cache, caller, path, make_body):
    auth, user = caller
    body, url = make_body(user), f"{live_server.url}{path}"
    headers = {**auth, "Idempotency-Key": "after-flush"}
    first = requests.post(url, json=body, headers=headers, timeout=30)
    assert first.status_code == 202, first.text
    assert "Idempotency-Replay" not in first.headers

    private_cache()
    replay = requests.post(url, json=body, headers=headers, timeout=30)
    assert replay.status_code == 202, replay.text
    assert replay.headers["Idempotency-Replay"] == "true"
    assert replay.json() == first.json()
    assert Event.objects.count() == 1

    private_cache()
    other = requests.post(url, json={**body, "data": {"n": 2}}, headers=headers, timeout=30)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Event.objects.count() == 1


@pytest.mark.parametrize(
    ("view", "path", "make_body"),
    [(EventPublishApi, *CREATES[0]), (NotificationSendApi, *CREATES[1])],
)
def test_a_500_after_the_commit_then_a_retry_gets_the_first_answer(
    live_server, private_cache, caller, monkeypatch, view, path, make_body
):
    """The connection to the client is lost (here: the view raises) after the
    request's transaction committed; the client retries after Redis was emptied."""
    auth, user = caller
    body, url = make_body(user), f"{live_server.url}{path}"
    headers = {**auth, "Idempotency-Key": "lost-answer"}
    committed = []
    handler = view.post

    def post_then_fail(self, request, *args, **kwargs):
        committed.append(handler(self, request, *args, **kwargs).data)
        raise RuntimeError("the answer is lost after the commit")

    monkeypatch.setattr(view, "post", post_then_fail)
    lost = requests.post(url, json=body, headers=headers, timeout=30)
    assert lost.status_code == 500
    assert Event.objects.count() == 1 and len(committed) == 1
    monkeypatch.setattr(view, "post", handler)

    private_cache()
    retry = requests.post(url, json=body, headers=headers, timeout=30)
    assert retry.status_code == 202, retry.text
    assert retry.headers["Idempotency-Replay"] == "true"
    assert retry.json() == committed[0]
    assert Event.objects.count() == 1
    if path == "/api/v1/notifications/":
        assert list(DirectSend.objects.values_list("pk", flat=True)) == [retry.json()["id"]]
    else:
        assert retry.json()["id"] == Event.objects.get().pk


def test_a_request_that_fails_before_its_commit_leaves_nothing(live_server, private_cache, caller, monkeypatch):
    """A crash inside the request's transaction: no event, no answer kept, and the retry
    runs for real."""
    auth, _ = caller
    body, url = {"event_type": "scenario.created", "data": {}}, f"{live_server.url}/api/v1/events/"
    headers = {**auth, "Idempotency-Key": "crashed"}
    real_publish = publish_api.event_publish

    def publish_then_crash(**kwargs):
        real_publish(**kwargs)
        raise RuntimeError("the process dies before the commit")

    monkeypatch.setattr(publish_api, "event_publish", publish_then_crash)
    assert requests.post(url, json=body, headers=headers, timeout=30).status_code == 500
    assert Event.objects.count() == 0
    monkeypatch.setattr(publish_api, "event_publish", real_publish)

    retry = requests.post(url, json=body, headers=headers, timeout=30)
    assert retry.status_code == 202 and "Idempotency-Replay" not in retry.headers
    assert list(Event.objects.values_list("pk", flat=True)) == [retry.json()["id"]]


def test_event_publish_with_a_key_after_flushall_returns_the_first_event(broker, event_types):
    """The Python API keeps its key in Event's unique column: Redis plays no part."""
    first, created = event_publish(event_type="scenario.created", data={"n": 1}, idempotency_key="py-key")
    assert created
    redis.Redis.from_url(broker.url(0)).flushall()
    again, created_again = event_publish(event_type="scenario.created", data={"n": 1}, idempotency_key="py-key")
    assert (again.pk, created_again) == (first.pk, False)
    assert Event.objects.count() == 1
