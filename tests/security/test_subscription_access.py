"""Who may receive an event, tried as an attacker through HTTP against a live server
with real token and API-key auth: carol tries to subscribe herself to what is not
hers, and each refusal is checked along with the fact that nothing was written."""

import pytest
from rest_framework.authtoken.models import Token

from apps.common.services import api_key_create
from apps.delivery.models import Delivery
from apps.events.models import Event, EventType, FanoutState
from apps.notifications.models import UserNotification
from apps.scenarios.models import Scenario
from apps.subscriptions.models import Preference, Subscription, SubscriptionOptOut

from ..http_receiver import Receiver
from ..live_api import Api, assert_envelope
from ..worker import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

RESET = "account.password_reset"
RESET_LINK = "https://shop.example.com/reset/alice-secret-token"


def snapshot():
    return [list(model.objects.order_by("pk").values()) for model in (Subscription, SubscriptionOptOut, Preference)]


@pytest.fixture
def people(live_server, event_types, make_user):
    alice, carol = make_user("alice"), make_user("carol")
    return {
        "alice": (alice, Api(live_server.url, f"Token {Token.objects.create(user=alice).key}")),
        "carol": (carol, Api(live_server.url, f"Token {Token.objects.create(user=carol).key}")),
    }


@pytest.fixture
def service(live_server):
    """A service with every scope it needs here, and one without users:write."""
    _, full = api_key_create(name="shop", scopes=["events:write", "users:write", "templates:write", "read"])
    _, partial = api_key_create(name="shop-events", scopes=["events:write", "templates:write"])
    return Api(live_server.url, f"Bearer {full}"), Api(live_server.url, f"Bearer {partial}")


@pytest.fixture
def reset_type(service):
    """Created through the API as a service does: not self-service unless it says so."""
    response = service[0].post("/api/v1/event-types/", {"key": RESET, "name": "Password reset"})
    assert response.status_code == 201 and response.json()["self_service"] is False
    return EventType.objects.get(key=RESET)


def test_carol_cannot_subscribe_herself_to_a_type_that_is_not_self_service(people, reset_type):
    _, carol = people["carol"]
    before = snapshot()
    for channel in ("in_app", "webhook"):
        response = carol.post("/api/v1/subscriptions/", {"event_type": RESET, "channel": channel})
        assert_envelope(response, 403, "permission_denied")
    # Not through preferences either: the refusal undoes the whole PUT.
    response = carol.put(
        "/api/v1/preferences/",
        {"muted_channels": ["sms"], "subscriptions": [{"event_type": RESET, "channel": "in_app", "enabled": True}]},
    )
    assert_envelope(response, 403, "permission_denied")
    assert snapshot() == before
    # A self-service type passes the same door.
    assert carol.post("/api/v1/subscriptions/", {"event_type": "scenario.created", "channel": "in_app"}).ok


def test_carol_cannot_subscribe_to_alices_private_scenario(people):
    alice_user, alice = people["alice"]
    _, carol = people["carol"]
    private = Scenario.objects.create(owner=alice_user, name="Payroll migration")
    body = {
        "event_type": "scenario.executed",
        "channel": "in_app",
        "subject": {"type": "scenarios.scenario", "id": str(private.pk)},
    }
    before = snapshot()
    assert_envelope(carol.post("/api/v1/subscriptions/", body), 404, "not_found")
    assert snapshot() == before
    # Its owner may; and once shared, so may carol.
    assert alice.post("/api/v1/subscriptions/", body).status_code == 201
    assert alice.patch(f"/api/v1/scenarios/{private.pk}/", {"shared": True}).json()["shared"] is True
    assert carol.post("/api/v1/subscriptions/", body).status_code == 201


@pytest.mark.parametrize(
    "subject",
    [
        {"type": "accounts.user", "id": "1"},  # no visibility check registered: unknown
        {"type": "scenarios.scenario", "id": "999999"},  # no such scenario
        {"type": "scenarios.scenario", "id": "1 OR 1=1"},
        {"type": "scenarios.scenario", "id": "99999999999999999999999999"},
        {"type": "", "id": "1"},
    ],
)
def test_unknown_or_missing_subjects_are_refused(people, subject):
    _, carol = people["carol"]
    before = snapshot()
    response = carol.post(
        "/api/v1/subscriptions/", {"event_type": "scenario.created", "channel": "in_app", "subject": subject}
    )
    assert response.status_code in (400, 404), response.text
    assert "error" in response.json()
    assert snapshot() == before


def test_unsharing_a_scenario_removes_the_others_subscriptions(people):
    alice_user, alice = people["alice"]
    carol_user, carol = people["carol"]
    scenario = Scenario.objects.create(owner=alice_user, name="Team board", shared=True)
    subject = {"type": "scenarios.scenario", "id": str(scenario.pk)}
    for api in (alice, carol):
        body = {"event_type": "scenario.executed", "channel": "in_app", "subject": subject}
        assert api.post("/api/v1/subscriptions/", body).status_code == 201
    assert alice.patch(f"/api/v1/scenarios/{scenario.pk}/", {"shared": False}).status_code == 200
    assert carol.get("/api/v1/subscriptions/").json()["results"] == []
    assert [s["subject"] for s in alice.get("/api/v1/subscriptions/").json()["results"]] == [subject]
    # Carol cannot come back in.
    body = {"event_type": "scenario.executed", "channel": "in_app", "subject": subject}
    assert_envelope(carol.post("/api/v1/subscriptions/", body), 404, "not_found")
    assert not Subscription.objects.filter(user=carol_user).exists()


def test_patch_is_no_way_around_the_rule(people, reset_type):
    """A row of carol's own that fails the rule (made before it, or its event type
    closed since) cannot be switched on, nor moved to another type or subject."""
    carol_user, carol = people["carol"]
    row = Subscription.objects.create(user=carol_user, event_type=reset_type, channel="in_app", enabled=False)
    before = snapshot()
    assert_envelope(carol.patch(f"/api/v1/subscriptions/{row.pk}/", {"enabled": True}), 403, "permission_denied")
    assert snapshot() == before

    created = carol.post("/api/v1/subscriptions/", {"event_type": "scenario.created", "channel": "in_app"}).json()
    alice_scenario = Scenario.objects.create(owner=people["alice"][0], name="Private")
    response = carol.patch(
        f"/api/v1/subscriptions/{created['id']}/",
        {"enabled": True, "event_type": RESET, "subject": {"type": "scenarios.scenario", "id": str(alice_scenario.pk)}},
    )
    assert response.status_code == 200
    moved = Subscription.objects.get(pk=created["id"])
    assert (moved.event_type.key, moved.subject_type, moved.subject_id) == ("scenario.created", "", "")


def test_closing_self_service_removes_what_people_made(people, service, reset_type):
    carol_user, carol = people["carol"]
    opened = service[0].patch(f"/api/v1/event-types/{RESET}/", {"self_service": True})
    assert opened.json()["self_service"] is True
    assert carol.post("/api/v1/subscriptions/", {"event_type": RESET, "channel": "in_app"}).status_code == 201
    alice_user, _ = people["alice"]
    by_service = service[0].post(
        f"/api/v1/users/{alice_user.pk}/subscriptions/", {"event_type": RESET, "channel": "in_app"}
    )
    assert by_service.status_code == 201

    assert service[0].patch(f"/api/v1/event-types/{RESET}/", {"self_service": False}).status_code == 200
    assert not Subscription.objects.filter(user=carol_user).exists()
    assert Subscription.objects.filter(user=alice_user, event_type=reset_type).exists()  # the service's stays


def test_the_users_subscriptions_api_needs_users_write(people, service, reset_type):
    alice_user, alice = people["alice"]
    full, partial = service
    path = f"/api/v1/users/{alice_user.pk}/subscriptions/"
    before = snapshot()
    for caller in (partial, alice):  # a key without the scope; a person's token
        assert_envelope(caller.post(path, {"event_type": RESET, "channel": "in_app"}), 403, "permission_denied")
        assert_envelope(caller.delete(path, params={"event_type": RESET}), 403, "permission_denied")
    assert_envelope(partial.get(path), 403, "permission_denied")
    assert_envelope(
        full.post("/api/v1/users/999999/subscriptions/", {"event_type": RESET, "channel": "in_app"}), 404, "not_found"
    )
    assert_envelope(full.delete(path), 400, "invalid_input")  # which event type?
    assert snapshot() == before

    created = full.post(path, {"event_type": RESET, "channel": "in_app"})
    assert created.status_code == 201 and created.json()["origin"] == "service"
    again = full.post(path, {"event_type": RESET, "channel": "in_app", "enabled": False})
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert [(s["event_type"], s["enabled"]) for s in full.get(path).json()["results"]] == [(RESET, False)]
    # The person sees it among their own and may switch it on and off: it is the service's.
    assert alice.patch(f"/api/v1/subscriptions/{created.json()['id']}/", {"enabled": True}).json()["enabled"] is True
    assert full.delete(path, params={"event_type": RESET, "channel": "in_app"}).json() == {"deleted": 1}
    assert not Subscription.objects.filter(user=alice_user).exists()


@pytest.mark.integration
def test_a_reset_link_for_alice_reaches_alice_only(people, service, reset_type, celery_worker):
    """Inbox and webhook: carol's attempts fail, the service subscribes alice, an event
    about alice with a reset link reaches alice's inbox and receiver, not carol's."""
    alice_user, alice = people["alice"]
    carol_user, carol = people["carol"]
    full, _ = service
    with Receiver() as alice_hook, Receiver() as carol_hook:
        for api, receiver in ((alice, alice_hook), (carol, carol_hook)):
            assert api.post("/api/v1/webhook-endpoints/", {"url": receiver.url()}).status_code == 201
        # Carol tries every door to alice's events.
        subject = {"type": "accounts.user", "id": str(alice_user.pk)}
        for channel in ("in_app", "webhook"):
            body = {"event_type": RESET, "channel": channel}
            assert carol.post("/api/v1/subscriptions/", body).status_code == 403
            response = carol.post("/api/v1/subscriptions/", {**body, "subject": subject})
            assert response.status_code in (403, 404)
            put = {"subscriptions": [{**body, "enabled": True}]}
            assert carol.put("/api/v1/preferences/", put).status_code == 403
        assert not Subscription.objects.filter(user=carol_user, event_type=reset_type).exists()
        # The service subscribes alice to her own account's events.
        for channel in ("in_app", "webhook"):
            body = {"event_type": RESET, "channel": channel, "subject": subject}
            assert full.post(f"/api/v1/users/{alice_user.pk}/subscriptions/", body).status_code == 201

        published = full.post(
            "/api/v1/events/", {"event_type": RESET, "subject": subject, "data": {"reset_link": RESET_LINK}}
        )
        assert published.status_code == 202
        event_id = published.json()["id"]
        wait_until(lambda: Event.objects.get(pk=event_id).fanout_state == FanoutState.DONE, message="fan-out")
        wait_until(lambda: alice_hook.requests, timeout=60, message="alice's webhook")

    assert RESET_LINK in alice_hook.requests[0].body.decode()
    alice_items = alice.get("/api/v1/inbox/").json()["results"]
    assert [item["data"].get("reset_link") for item in alice_items] == [RESET_LINK]
    carol_inbox = carol.get("/api/v1/inbox/")
    assert carol_inbox.status_code == 200 and carol_inbox.json()["results"] == []
    assert RESET_LINK not in carol_inbox.text
    # Nothing was ever meant for carol: no item, no delivery, no request to her receiver.
    assert not UserNotification.objects.filter(event_id=event_id, user=carol_user).exists()
    assert not Delivery.objects.filter(notification__event_id=event_id, notification__user=carol_user).exists()
    assert carol_hook.requests == []
