"""GET/PUT /api/v1/preferences/ and /api/v1/users/{id}/preferences/."""

import pytest

from apps.events.models import EventType
from apps.subscriptions.models import Preference, Subscription

pytestmark = pytest.mark.django_db

URL = "/api/v1/preferences/"


@pytest.fixture
def alerts(db):
    return EventType.objects.create(key="build.failed", name="Build failed", default_channels=["in_app", "email"])


def test_a_person_reads_and_changes_their_preferences(alerts, make_user, client_for):
    user = make_user()
    client = client_for(user)
    body = client.get(URL).json()
    assert body["quiet_hours"] is None and body["digest"] == "off" and body["timezone"] == "UTC"
    assert {(s["channel"], s["enabled"], s["default"]) for s in body["subscriptions"]} == {
        ("in_app", True, True),
        ("email", True, True),
    }

    response = client.put(
        URL,
        {
            "quiet_hours": {"start": "22:00", "end": "07:00"},
            "timezone": "America/New_York",
            "digest": "daily",
            "digest_channels": {"sms": "off"},
            "muted_channels": ["push", "push"],
            "subscriptions": [{"event_type": "build.failed", "channel": "email", "enabled": False}],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert (body["timezone"], body["digest"], body["digest_channels"]) == ("America/New_York", "daily", {"sms": "off"})
    assert body["muted_channels"] == ["push"]
    assert {(s["channel"], s["enabled"], s["default"]) for s in body["subscriptions"]} == {
        ("in_app", True, True),
        ("email", False, False),
    }
    # A PUT changes what it names only; quiet_hours null turns them off.
    body = client.put(URL, {"quiet_hours": None}, format="json").json()
    assert body["quiet_hours"] is None and body["digest"] == "daily"
    assert Preference.objects.get(user=user).digest_for("email") == "daily"


@pytest.mark.parametrize(
    "payload",
    [
        {"quiet_hours": {"start": "22:00", "end": "22:00"}},
        {"quiet_hours": {"start": "25:00", "end": "07:00"}},
        {"timezone": "Mars/Olympus"},
        {"digest": "yearly"},
        {"digest_channels": {"in_app": "daily"}},
        {"muted_channels": ["fax"]},
        {"mute_until": "tomorrow"},
        {"subscriptions": [{"event_type": "no.such", "channel": "email", "enabled": False}]},
        {"subscriptions": "all"},
        ["not", "an", "object"],
    ],
)
def test_bad_input_is_refused_and_changes_nothing(alerts, make_user, client_for, payload):
    user = make_user()
    response = client_for(user).put(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    assert not Preference.objects.filter(user=user).exists()


def test_services_need_users_write_and_a_real_user(alerts, make_user, api_key_client):
    user = make_user()
    service = api_key_client(["users:write"])
    url = f"/api/v1/users/{user.pk}/preferences/"
    response = service.put(url, {"digest": "weekly"}, format="json")
    assert response.status_code == 200 and response.json()["digest"] == "weekly"
    assert service.get(url).json()["digest"] == "weekly"
    assert service.get("/api/v1/users/999999/preferences/").status_code == 404
    assert api_key_client(["events:write"]).put(url, {"digest": "off"}, format="json").status_code == 403


def test_people_cannot_use_the_service_endpoint(alerts, make_user, client_for):
    user, other = make_user(), make_user()
    response = client_for(user).get(f"/api/v1/users/{other.pk}/preferences/")
    assert response.status_code == 403


def test_a_user_can_be_created_with_preferences(alerts, api_key_client):
    from django.contrib.auth import get_user_model

    service = api_key_client(["users:write"])
    payload = {
        "username": "newbie",
        "email": "newbie@example.com",
        "timezone": "Europe/Lisbon",
        "preferences": {"quiet_hours": {"start": "23:00", "end": "06:30"}, "digest_channels": {"email": "weekly"}},
    }
    response = service.post("/api/v1/users/", payload, format="json")
    assert response.status_code == 201, response.content
    body = service.get(f"/api/v1/users/{response.json()['id']}/preferences/").json()
    assert body["quiet_hours"] == {"start": "23:00", "end": "06:30"}
    assert (body["timezone"], body["digest_channels"]) == ("Europe/Lisbon", {"email": "weekly"})

    bad = {**payload, "username": "second", "preferences": {"digest": "sometimes"}}
    response = service.post("/api/v1/users/", bad, format="json")
    assert response.status_code == 400 and "preferences" in response.json()["error"]["details"]
    assert not get_user_model().objects.filter(username="second").exists()


def test_services_choose_for_people_what_people_may_not_choose_themselves(
    alerts, make_user, client_for, api_key_client
):
    """build.failed is not self-service: the person's PUT is refused, the service's is
    not, and the row it makes stays the service's (the person may switch it back on)."""
    user = make_user()
    choice = {"subscriptions": [{"event_type": "build.failed", "channel": "sms", "enabled": True}]}
    refused = client_for(user).put("/api/v1/preferences/", choice, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert not Subscription.objects.filter(user=user, channel="sms").exists()

    service = api_key_client(["users:write"])
    assert service.put(f"/api/v1/users/{user.pk}/preferences/", choice, format="json").status_code == 200
    row = Subscription.objects.get(user=user, channel="sms")
    assert (row.enabled, row.origin) == (True, "service")
    off = {"subscriptions": [{"event_type": "build.failed", "channel": "sms", "enabled": False}]}
    on = {"subscriptions": [{"event_type": "build.failed", "channel": "sms", "enabled": True}]}
    assert client_for(user).put("/api/v1/preferences/", off, format="json").status_code == 200
    assert client_for(user).put("/api/v1/preferences/", on, format="json").status_code == 200

    created = service.post(
        "/api/v1/users/",
        {"username": "newbie", "email": "newbie@example.com", "preferences": choice},
        format="json",
    )
    assert created.status_code == 201
    assert Subscription.objects.get(user_id=created.json()["id"], channel="sms").origin == "service"
