"""Owner, read state, timestamps and status are never taken from a request body."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.events.models import Event, EventType, FanoutState
from apps.notifications.models import DirectSend, SendStatus
from apps.scenarios.models import Scenario
from apps.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db

LONG_AGO = (timezone.now() - timedelta(days=3650)).isoformat()


def test_user_create_and_update_ignore_privileges_and_timestamps(api_key_client):
    client = api_key_client(["users:write"])
    response = client.post(
        "/api/v1/users/",
        {
            "username": "mallory",
            "email": "m@example.com",
            "is_staff": True,
            "is_superuser": True,
            "id": 999,
            "date_joined": LONG_AGO,
            "last_login": LONG_AGO,
        },
        format="json",
    )
    assert response.status_code == 201
    user = get_user_model().objects.get(username="mallory")
    assert not user.is_staff and not user.is_superuser and user.pk != 999 and user.last_login is None
    assert user.date_joined > timezone.now() - timedelta(minutes=1)
    assert "password" not in response.json()

    response = client.patch(
        f"/api/v1/users/{user.pk}/", {"username": "root", "is_superuser": True, "is_active": False}, format="json"
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.username == "mallory" and not user.is_superuser and user.is_active


def test_subscription_owner_and_identity_come_from_the_caller(event_types, make_user, client_for):
    ann, ben = make_user("ann"), make_user("ben")
    response = client_for(ann).post(
        "/api/v1/subscriptions/",
        {"event_type": "scenario.created", "channel": "email", "user": ben.pk, "created_at": LONG_AGO},
        format="json",
    )
    assert response.status_code == 201
    subscription = Subscription.objects.get()
    assert subscription.user == ann
    assert subscription.created_at > timezone.now() - timedelta(minutes=1)

    response = client_for(ann).patch(
        f"/api/v1/subscriptions/{subscription.pk}/",
        {"enabled": False, "user": ben.pk, "channel": "sms", "event_type": "scenario.deleted"},
        format="json",
    )
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert (subscription.user, subscription.channel, subscription.event_type.key, subscription.enabled) == (
        ann,
        "email",
        "scenario.created",
        False,
    )


def test_scenario_owner_and_counters_come_from_the_server(make_user, client_for):
    ann, ben = make_user("ann"), make_user("ben")
    response = client_for(ann).post(
        "/api/v1/scenarios/",
        {"name": "x", "owner": ben.pk, "execution_count": 99, "last_executed_at": LONG_AGO, "created_at": LONG_AGO},
        format="json",
    )
    assert response.status_code == 201
    scenario = Scenario.objects.get()
    assert scenario.owner == ann and scenario.execution_count == 0 and scenario.last_executed_at is None


def test_event_state_is_not_writable(event_types, api_key_client):
    response = api_key_client(["events:write"]).post(
        "/api/v1/events/",
        {
            "event_type": "scenario.created",
            "fanout_state": "done",
            "recipient_count": 5,
            "idempotency_key": "mine",
            "created_at": LONG_AGO,
        },
        format="json",
    )
    assert response.status_code == 202
    event = Event.objects.get()
    # The fan-out has not run (it is enqueued on commit): the state is the server's initial one.
    assert event.fanout_state == FanoutState.PENDING and event.recipient_count == 0
    assert event.idempotency_key != "mine"
    assert event.created_at > timezone.now() - timedelta(minutes=1)


def test_send_status_and_owner_are_not_writable(event_types, make_user, api_key_client):
    rita = make_user("rita")
    response = api_key_client(["notifications:write"]).post(
        "/api/v1/notifications/",
        {
            "event_type": "scenario.created",
            "recipients": [rita.pk],
            "status": "cancelled",
            "cancelled_at": LONG_AGO,
            "api_key": None,
            "created_by": rita.pk,
            "created_at": LONG_AGO,
            "recipient_count": 1000,
        },
        format="json",
    )
    assert response.status_code == 202
    send = DirectSend.objects.get()
    assert send.status == SendStatus.QUEUED and send.cancelled_at is None
    assert send.api_key is not None and send.created_by is None and send.recipient_count == 1


def test_event_type_key_and_timestamps_are_not_writable(event_types, api_key_client):
    client = api_key_client(["templates:write"])
    response = client.patch(
        "/api/v1/event-types/scenario.created/",
        {"key": "hijacked", "name": "Renamed", "created_at": LONG_AGO},
        format="json",
    )
    assert response.status_code == 200 and response.json()["key"] == "scenario.created"
    event_type = EventType.objects.get(key="scenario.created")
    assert event_type.name == "Renamed"
    assert event_type.created_at > timezone.now() - timedelta(minutes=5)
    assert not EventType.objects.filter(key="hijacked").exists()


def test_inbox_read_state_changes_only_through_its_actions(event_types, make_user, client_for):
    from apps.notifications.models import UserNotification

    ann = make_user("ann")
    event = Event.objects.create(event_type=event_types["scenario.created"], data={})
    item = UserNotification.objects.create(event=event, user=ann, title="t", created_at=timezone.now())
    client = client_for(ann)
    # The inbox has no write endpoint taking a body: read state is not a field anyone sets.
    for method in ("put", "patch"):
        response = getattr(client, method)(f"/api/v1/inbox/{item.pk}/read/", {"read_at": LONG_AGO}, format="json")
        assert response.status_code == 405
    response = client.post(f"/api/v1/inbox/{item.pk}/read/", {"read_at": LONG_AGO, "user": 0}, format="json")
    assert response.status_code == 200
    item.refresh_from_db()
    assert item.read_at > timezone.now() - timedelta(minutes=1) and item.user == ann
