"""Idempotency-Key on the create endpoints: replay, 422 on another body, 409 in flight,
and two identical requests at the same moment against a live server give one send."""

import threading

import psycopg
import pytest
import requests
from django.db import connection

from apps.common.idempotency import _key_digest, advisory_lock_id
from apps.common.services import api_key_create
from apps.events.models import Event
from apps.notifications.models import DirectSend

pytestmark = pytest.mark.django_db

CREATES = [
    ("/api/v1/events/", lambda user: {"event_type": "scenario.created", "data": {"n": 1}}),
    ("/api/v1/notifications/", lambda user: {"event_type": "scenario.created", "recipients": [user.pk]}),
    (
        "/api/v1/notifications/bulk/",
        lambda user: {"notifications": [{"event_type": "scenario.created", "recipients": [user.pk]}]},
    ),
]


@pytest.mark.parametrize(("path", "make_body"), CREATES)
def test_same_key_same_body_replays_and_another_body_is_422(event_types, make_user, api_key_client, path, make_body):
    user = make_user()
    client = api_key_client()
    body = make_body(user)
    first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert second["Idempotency-Replay"] == "true" and "Idempotency-Replay" not in first
    assert Event.objects.count() == 1

    changed = client.post(path, {**body, "data": {"n": 2}}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "idempotency_key_reused"
    assert Event.objects.count() == 1

    # Without a key, or with another key, it is a new request.
    assert client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="k-2").status_code == 202
    assert client.post(path, body, format="json").status_code == 202
    assert Event.objects.count() == 3


def test_keys_are_per_caller(event_types, make_user, api_key_client):
    user = make_user()
    body = {"event_type": "scenario.created", "recipients": [user.pk]}
    one, two = api_key_client(), api_key_client()
    a = one.post("/api/v1/notifications/", body, format="json", HTTP_IDEMPOTENCY_KEY="same")
    b = two.post("/api/v1/notifications/", body, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert a.status_code == b.status_code == 202 and a.json()["id"] != b.json()["id"]
    assert "Idempotency-Replay" not in b


def test_a_failed_request_gives_its_key_back(event_types, make_user, api_key_client):
    user = make_user()
    client = api_key_client()
    bad = client.post(
        "/api/v1/notifications/",
        {"event_type": "nope", "recipients": [user.pk]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="fix-me",
    )
    assert bad.status_code == 400
    good = client.post(
        "/api/v1/notifications/",
        {"event_type": "scenario.created", "recipients": [user.pk]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="fix-me",
    )
    assert good.status_code == 202 and "Idempotency-Replay" not in good


def test_key_in_flight_is_409(event_types, make_user, api_key_client):
    from apps.common.models import ApiKey

    user = make_user()
    client = api_key_client()
    body = {"event_type": "scenario.created", "recipients": [user.pk]}
    # Hold the key from another connection exactly as a running request of the same
    # caller does: its transaction's advisory lock.
    db = connection.settings_dict
    params = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"], "password": db["PASSWORD"]}
    lock = advisory_lock_id(f"key:{ApiKey.objects.get().pk}", _key_digest("busy"))
    with psycopg.connect(dbname=db["NAME"], **params) as running, running.transaction():
        running.execute("SELECT pg_advisory_xact_lock(%s)", [lock])
        response = client.post("/api/v1/notifications/", body, format="json", HTTP_IDEMPOTENCY_KEY="busy")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_flight"
    assert DirectSend.objects.count() == 0
    # Once the first ends without an answer (rolled back), the key is free again.
    again = client.post("/api/v1/notifications/", body, format="json", HTTP_IDEMPOTENCY_KEY="busy")
    assert again.status_code == 202 and DirectSend.objects.count() == 1


def test_too_long_key_is_400(event_types, api_key_client):
    response = api_key_client().post(
        "/api/v1/events/", {"event_type": "scenario.created"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 300
    )
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["error"]["details"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_same_key_sent_twice_at_once_gives_one_notification(live_server, event_types, make_user, round_):
    user = make_user()
    _, raw = api_key_create(name="racer")
    body = {"event_type": "scenario.created", "recipients": [user.pk], "channels": ["in_app"]}
    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": f"race-{round_}"}
    start = threading.Barrier(2)
    answers = []

    def post():
        start.wait()
        answers.append(
            requests.post(f"{live_server.url}/api/v1/notifications/", json=body, headers=headers, timeout=30)
        )

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(a.status_code for a in answers)
    assert codes in ([202, 202], [202, 409]), [a.text for a in answers]
    assert DirectSend.objects.count() == 1
    accepted = [a for a in answers if a.status_code == 202]
    assert {a.json()["id"] for a in accepted} == {DirectSend.objects.get().pk}
    if codes == [202, 202]:  # the second came after the first finished: a replay
        assert sorted(a.headers.get("Idempotency-Replay", "") for a in accepted) == ["", "true"]
    else:
        conflict = next(a for a in answers if a.status_code == 409)
        assert conflict.json()["error"]["code"] == "idempotency_key_in_flight"
