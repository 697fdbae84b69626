"""Mobile devices and chat destinations tried as an attacker through HTTP against a live
server with real token and API-key auth: a person reaches only their own devices (another
person's answer 404 and stay), and nobody can supply a chat destination (an Apprise URL
carries credentials and may name any host) or point their Slack id at a bad value.
Each refusal is checked along with the fact that nothing was written."""

import pytest
from rest_framework.authtoken.models import Token

from apps.accounts.models import Device, Profile
from apps.common.models import ApiKeyScope
from apps.common.services import api_key_create
from apps.delivery.models import ChatDestination, Delivery
from apps.subscriptions.models import Subscription

from ..live_api import Api, assert_envelope

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "dGVzdC1mY20tdG9rZW4:APA91b" + "x" * 140


def devices():
    return list(Device.objects.order_by("pk").values())


@pytest.fixture
def people(live_server, make_user):
    alice, carol = make_user("alice"), make_user("carol")
    return {
        name: (user, Api(live_server.url, f"Token {Token.objects.create(user=user).key}"))
        for name, user in (("alice", alice), ("carol", carol))
    }


def test_a_person_registers_lists_and_removes_their_own_devices(people):
    alice, api = people["alice"]
    created = api.post("/api/v1/devices/", {"token": TOKEN, "platform": "ios", "name": "iPhone"})
    assert created.status_code == 201, created.text
    device = created.json()
    assert (device["token"], device["platform"], device["name"]) == (TOKEN, "ios", "iPhone")
    # The same token again updates it, never a second device.
    again = api.post("/api/v1/devices/", {"token": TOKEN, "platform": "ios", "name": "Work phone"})
    assert (again.status_code, again.json()["id"]) == (200, device["id"])
    assert [d["name"] for d in api.get("/api/v1/devices/").json()["results"]] == ["Work phone"]

    assert api.delete(f"/api/v1/devices/{device['id']}/").status_code == 204
    assert api.get("/api/v1/devices/").json()["results"] == []
    assert not Device.objects.filter(user=alice).exists()


def test_another_persons_device_answers_404_and_stays(people):
    alice, alice_api = people["alice"]
    _, carol_api = people["carol"]
    device_id = alice_api.post("/api/v1/devices/", {"token": TOKEN}).json()["id"]
    before = devices()

    assert_envelope(carol_api.get(f"/api/v1/devices/{device_id}/"), 404, "not_found")
    assert_envelope(carol_api.delete(f"/api/v1/devices/{device_id}/"), 404, "not_found")
    assert carol_api.get("/api/v1/devices/").json()["results"] == []
    assert devices() == before


@pytest.mark.parametrize(
    "body",
    [
        {"token": "short"},
        {"token": "has spaces and <script>" + "x" * 40},
        {"token": TOKEN, "platform": "symbian"},
        {"token": ["a", "list"]},
        {"token": "x" * 5000},
        {},
    ],
)
def test_a_bad_device_is_refused_with_400_and_nothing_written(people, body):
    _, api = people["alice"]
    assert_envelope(api.post("/api/v1/devices/", body), 400)
    assert devices() == []


def test_devices_need_a_person(live_server):
    assert_envelope(Api(live_server.url).post("/api/v1/devices/", {"token": TOKEN}), 401)
    _, key = api_key_create(name="shop", scopes=[ApiKeyScope.USERS_WRITE])
    service = Api(live_server.url, f"Bearer {key}")
    assert service.post("/api/v1/devices/", {"token": TOKEN}).status_code in (401, 403)
    assert devices() == []


def test_no_api_path_takes_a_chat_destination(people, live_server, event_types):
    """Operators configure destinations in the admin; no path of the API accepts one,
    whether a person or a service asks."""
    _, api = people["alice"]
    _, key = api_key_create(name="shop", scopes=[ApiKeyScope.USERS_WRITE, ApiKeyScope.NOTIFICATIONS_WRITE])
    service = Api(live_server.url, f"Bearer {key}")
    body = {"name": "mine", "apprise_url": "json://attacker.example.com/collect"}
    for caller in (api, service):
        for path in ("/api/v1/chat-destinations/", "/api/v1/destinations/"):
            assert caller.post(path, body).status_code == 404
    # Nor can a subscription or a direct send name one as an address.
    # The chat channel is the operators' destinations' alone: no person is subscribed
    # to it, nor sent on it.
    subscription = api.post("/api/v1/subscriptions/", {"event_type": "scenario.created", "channel": "chat", **body})
    assert_envelope(subscription, 400)
    assert "channel" in subscription.json()["error"]["details"]
    assert not Subscription.objects.filter(channel="chat").exists()
    on_chat = service.post(
        "/api/v1/notifications/",
        {"event_type": "scenario.created", "recipients": [people["alice"][0].pk], "channels": ["chat"], "data": {}},
    )
    assert_envelope(on_chat, 400)
    send = service.post(
        "/api/v1/notifications/",
        {"event_type": "scenario.created", "recipients": [{"chat": body["apprise_url"]}], "data": {}},
    )
    assert_envelope(send, 400)
    assert "recipients" in send.json()["error"]["details"]
    assert ChatDestination.objects.count() == 0
    assert not Delivery.objects.exists()


def test_a_slack_id_that_is_not_one_is_refused(live_server, make_user):
    user = make_user("sl-victim", slack_id="U0VICTIM01")
    _, key = api_key_create(name="crm", scopes=[ApiKeyScope.USERS_WRITE])
    service = Api(live_server.url, f"Bearer {key}")
    for value in ("#general", "https://hooks.slack.com/services/T/B/X", "u0lower", "U01", {"id": "U0X"}):
        assert_envelope(service.patch(f"/api/v1/users/{user.pk}/", {"slack_id": value}), 400)
    assert Profile.objects.get(user=user).slack_id == "U0VICTIM01"
