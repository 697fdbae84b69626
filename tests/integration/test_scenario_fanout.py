"""End to end: API → signal → event → on_commit → real worker on real Redis → inbox."""

from datetime import timedelta

import pytest

from apps.events.models import Event, FanoutState
from apps.notifications.models import UserNotification

from ..worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers, pytest.mark.django_db(transaction=True)]


def inbox(client):
    response = client.get("/api/v1/inbox/")
    assert response.status_code == 200
    return response.json()["results"]


def unread(client):
    return client.get("/api/v1/inbox/unread-count/").json()["unread"]


def test_scenario_created_reaches_each_subscribers_inbox(celery_worker, event_types, make_user, subscribe, client_for):
    created = event_types["scenario.created"]
    author, bob, erin, carol, dave = (make_user(name) for name in ["author", "bob", "erin", "carol", "dave"])
    subscribe(bob, created)
    subscribe(erin, created)
    subscribe(carol, created, enabled=False)  # disabled
    subscribe(dave, event_types["scenario.deleted"])  # another event type only

    response = client_for(author).post("/api/v1/scenarios/", {"name": "Login flow"}, format="json")
    assert response.status_code == 201

    event = Event.objects.get(event_type=created)
    wait_until(lambda: Event.objects.get(pk=event.pk).fanout_state == FanoutState.DONE, message="fan-out")

    bob_client, erin_client = client_for(bob), client_for(erin)
    for client in (bob_client, erin_client):
        items = inbox(client)
        assert [item["event_type"] for item in items] == ["scenario.created"]
        assert items[0]["title"] == 'Scenario "Login flow" created'
        assert items[0]["data"]["name"] == "Login flow"
        assert items[0]["is_read"] is False
    for user in (author, carol, dave):
        assert inbox(client_for(user)) == []

    assert unread(bob_client) == 1 and unread(erin_client) == 1
    item_id = inbox(bob_client)[0]["id"]
    response = bob_client.post(f"/api/v1/inbox/{item_id}/read/")
    assert response.status_code == 200 and response.json()["is_read"] is True
    assert unread(bob_client) == 0
    assert unread(erin_client) == 1  # someone else's count does not move

    # Erin cannot touch Bob's item: 404, and Bob's item stays as it is.
    assert erin_client.post(f"/api/v1/inbox/{item_id}/unread/").status_code == 404
    assert UserNotification.objects.get(pk=item_id).read_at is not None


def test_execute_and_delete_emit_their_events(celery_worker, event_types, make_user, subscribe, client_for):
    author, watcher = make_user("owner"), make_user("watcher")
    for key in ("scenario.executed", "scenario.deleted"):
        subscribe(watcher, event_types[key])
    client = client_for(author)
    scenario_id = client.post("/api/v1/scenarios/", {"name": "Nightly"}, format="json").json()["id"]
    assert client.post(f"/api/v1/scenarios/{scenario_id}/execute/").status_code == 200
    assert client.delete(f"/api/v1/scenarios/{scenario_id}/").status_code == 204

    watcher_client = client_for(watcher)
    items = wait_until(lambda: len(inbox(watcher_client)) == 2 and inbox(watcher_client), message="two items")
    # The two fan-outs may run in parallel, so the order of the two items is free.
    assert sorted(item["event_type"] for item in items) == ["scenario.deleted", "scenario.executed"]


def test_same_idempotency_key_gives_one_set_and_rerun_adds_nothing(
    celery_worker, event_types, make_user, subscribe, api_key_client
):
    readers = [make_user(f"reader{i}") for i in range(5)]
    for reader in readers:
        subscribe(reader, event_types["scenario.executed"])
    client = api_key_client(["events:write"])
    body = {"event_type": "scenario.executed", "data": {"name": "Checkout"}}

    first = client.post("/api/v1/events/", body, format="json", HTTP_IDEMPOTENCY_KEY="run-42")
    second = client.post("/api/v1/events/", body, format="json", HTTP_IDEMPOTENCY_KEY="run-42")
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotency-Replay"] == "true"

    event_id = first.json()["id"]
    wait_until(lambda: Event.objects.get(pk=event_id).fanout_state == FanoutState.DONE, message="fan-out")
    assert UserNotification.objects.filter(event_id=event_id).count() == 5

    # Force a second full run through the worker: nothing is added.
    Event.objects.filter(pk=event_id).update(fanout_state=FanoutState.PENDING, fanout_cursor=0)
    from apps.notifications.tasks import fan_out_task

    fan_out_task.delay(event_id)
    wait_until(lambda: Event.objects.get(pk=event_id).fanout_state == FanoutState.DONE, message="re-run")
    assert UserNotification.objects.filter(event_id=event_id).count() == 5
    assert Event.objects.count() == 1


def test_outbox_relay_redrives_a_committed_event_whose_fan_out_never_ran(
    celery_worker, event_types, make_user, subscribe, settings
):
    """As if the process died between commit and enqueue (or the broker was down)."""
    reader = make_user()
    subscribe(reader, event_types["scenario.created"])
    # Written without event_publish, so no fan-out was ever enqueued.
    event = Event.objects.create(event_type=event_types["scenario.created"], data={"name": "Lost"})
    Event.objects.filter(pk=event.pk).update(created_at=event.created_at - timedelta(minutes=5))

    from apps.notifications.tasks import outbox_relay_task

    assert outbox_relay_task.apply().get() == 1  # the beat task's body: enqueues the fan-out
    wait_until(lambda: Event.objects.get(pk=event.pk).fanout_state == FanoutState.DONE, message="relayed fan-out")
    assert list(UserNotification.objects.filter(event=event).values_list("user_id", flat=True)) == [reader.pk]
    assert outbox_relay_task.apply().get() == 0  # done events are left alone
