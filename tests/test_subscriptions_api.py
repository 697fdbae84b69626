import pytest

from apps.scenarios.models import Scenario
from apps.subscriptions.models import Subscription, SubscriptionOptOut

pytestmark = pytest.mark.django_db


def test_create_list_disable_and_delete(make_user, client_for, event_types):
    me = make_user()
    client = client_for(me)
    mine = Scenario.objects.create(owner=me, name="Mine")
    created = client.post(
        "/api/v1/subscriptions/", {"event_type": "scenario.created", "channel": "email"}, format="json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["event_type"] == "scenario.created" and body["enabled"] is True and body["subject"] is None

    duplicate = client.post(
        "/api/v1/subscriptions/", {"event_type": "scenario.created", "channel": "email"}, format="json"
    )
    assert duplicate.status_code == 409

    subject = client.post(
        "/api/v1/subscriptions/",
        {
            "event_type": "scenario.created",
            "channel": "email",
            "subject": {"type": "scenarios.scenario", "id": str(mine.pk)},
        },
        format="json",
    )
    assert subject.status_code == 201

    assert [s["id"] for s in client.get("/api/v1/subscriptions/").json()["results"]] == [
        body["id"],
        subject.json()["id"],
    ]
    patched = client.patch(f"/api/v1/subscriptions/{body['id']}/", {"enabled": False}, format="json")
    assert patched.json()["enabled"] is False
    assert client.delete(f"/api/v1/subscriptions/{body['id']}/").status_code == 204
    assert Subscription.objects.count() == 1
    # The removal is remembered, so the defaults never bring it back.
    assert SubscriptionOptOut.objects.filter(user=me, event_type=event_types["scenario.created"]).count() == 1


def test_owner_and_channel_cannot_be_assigned(make_user, client_for, event_types):
    me, other = make_user(), make_user()
    response = client_for(me).post(
        "/api/v1/subscriptions/",
        {"event_type": "scenario.created", "channel": "pigeon", "user": other.pk},
        format="json",
    )
    assert response.status_code == 400 and "channel" in response.json()["error"]["details"]
    response = client_for(me).post(
        "/api/v1/subscriptions/", {"event_type": "scenario.created", "channel": "sms", "user": other.pk}, format="json"
    )
    assert response.status_code == 201
    assert Subscription.objects.get().user == me
