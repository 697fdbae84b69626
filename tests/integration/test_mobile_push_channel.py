"""The `mobile_push` channel through firebase-admin against a local server speaking FCM
HTTP v1 and Google's OAuth token endpoint, with a real worker and a service account key
made for the test: the OAuth grant signed with that key, the message's notification,
data and platform priorities, 5xx retried, and tokens FCM calls unregistered or invalid
removed with their devices."""

import json

import pytest

from apps.accounts.models import Device
from apps.common.channels import Channel
from apps.common.priorities import CRITICAL
from apps.delivery.models import Delivery, DeliveryStatus
from apps.events.models import EventType
from apps.notifications.publish import event_publish

from ..worker import wait_until
from .chat_providers import FcmApi, channel_worker
from .providers import FINAL, wait_for_status

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TOKEN_OK = "fcm-token-ok-" + "a" * 140
TOKEN_GONE = "fcm-token-gone-" + "b" * 140
TOKEN_BAD = "fcm-token-bad-" + "c" * 140


@pytest.fixture(scope="module")
def fcm():
    server = FcmApi().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fcm_worker(fcm, tmp_path_factory, django_db_setup, django_db_blocker):
    key_file = fcm.key_file(tmp_path_factory.mktemp("fcm") / "service-account.json")
    env = {"FCM_SERVICE_ACCOUNT_FILE": key_file, "FCM_API_BASE_URL": fcm.url}
    with django_db_blocker.unblock(), channel_worker("mobile-push", env) as worker:
        yield worker


def register_device(client, token: str, platform: str = "android"):
    response = client.post("/api/v1/devices/", {"token": token, "platform": platform, "name": "phone"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def publish_to(user, event_types, subscribe, key="scenario.created", data=None) -> Delivery:
    subscribe(user, event_types[key], channel=Channel.MOBILE_PUSH)
    event, _ = event_publish(event_type=key, data=data or {"name": f"for {user.username}"})
    return wait_until(
        lambda: Delivery.objects.filter(notification__event=event, channel=Channel.MOBILE_PUSH).first(),
        message="the mobile push delivery",
    )


def targets(delivery):
    return delivery.events.order_by("id").last().detail["targets"]


def test_a_device_gets_the_notification_through_fcm_v1_with_an_oauth_token(
    fcm_worker, fcm, event_types, make_user, subscribe, client_for
):
    user = make_user("fcm-ok")
    register_device(client_for(user), TOKEN_OK)
    data = {"name": "Nightly", "url": "https://app.example.com/runs/7", "image_url": "https://cdn.example.com/i.png"}
    delivery = wait_for_status(publish_to(user, event_types, subscribe, data=data).pk, FINAL)

    assert delivery.status == DeliveryStatus.SENT
    # The grant was a JWT signed with the service account's key (checked by the server).
    assert [c for c in fcm.calls if c.path == "/token"]
    [call] = fcm.sends_to(TOKEN_OK)
    assert call.path == "/v1/projects/local-project/messages:send"
    assert call.headers["authorization"].removeprefix("Bearer ") in fcm.issued
    message = call.body["message"]
    assert message["notification"] == {
        "title": 'Scenario "Nightly" created',
        "body": message["notification"]["body"],
        "image": "https://cdn.example.com/i.png",
    }
    assert message["data"]["url"] == "https://app.example.com/runs/7"
    assert message["data"]["event_type"] == "scenario.created"
    assert json.loads(message["data"]["data"])["name"] == "Nightly"
    assert message["data"]["notification_id"] == str(delivery.notification_id)
    # A normal-priority event: normal on Android, 5 on APNs.
    assert message["android"]["priority"] == "normal"
    assert message["apns"]["headers"]["apns-priority"] == "5"
    assert message["webpush"]["fcm_options"]["link"] == "https://app.example.com/runs/7"
    assert delivery.provider_message_id.startswith("projects/local-project/messages/")


def test_a_critical_event_goes_at_fcms_high_priority(fcm_worker, fcm, event_types, make_user, subscribe, client_for):
    user = make_user("fcm-critical")
    token = "fcm-token-critical-" + "d" * 140
    register_device(client_for(user), token, platform="ios")
    EventType.objects.filter(key="scenario.deleted").update(default_priority=CRITICAL)
    delivery = wait_for_status(publish_to(user, event_types, subscribe, key="scenario.deleted").pk, FINAL)

    assert delivery.status == DeliveryStatus.SENT
    [call] = fcm.sends_to(token)
    assert call.body["message"]["android"]["priority"] == "high"
    assert call.body["message"]["apns"]["headers"]["apns-priority"] == "10"


def test_5xx_is_retried_and_only_the_device_not_yet_reached_is_sent_again(
    fcm_worker, fcm, event_types, make_user, subscribe, client_for
):
    user = make_user("fcm-flaky")
    steady, flaky = "fcm-token-steady-" + "e" * 140, "fcm-token-flaky-" + "f" * 140
    client = client_for(user)
    register_device(client, steady)
    register_device(client, flaky)
    # firebase-admin itself retries 500 and 503 within the request (its retry policy);
    # a 500 that comes back as a 502 reaches dispatch, which retries the delivery.
    fcm.plan(flaky, [500, 502, 502])
    delivery = wait_for_status(publish_to(user, event_types, subscribe).pk, FINAL)

    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert len(fcm.sends_to(steady)) == 1
    assert len(fcm.sends_to(flaky)) == 4
    events = list(delivery.events.order_by("id"))
    assert [e.status for e in events] == ["pending", "pending", "sent"]
    flaky_key = f"device:{Device.objects.get(token=flaky).pk}"
    flaky_statuses = [t["status"] for e in events for t in e.detail["targets"] if t["target"] == flaky_key]
    assert flaky_statuses == [502, 502, 200]


def test_unregistered_and_invalid_tokens_fail_and_their_devices_are_removed(
    fcm_worker, fcm, event_types, make_user, subscribe, client_for
):
    user = make_user("fcm-gone")
    client = client_for(user)
    register_device(client, TOKEN_GONE)
    register_device(client, TOKEN_BAD)
    fcm.plan(TOKEN_GONE, ["unregistered"])
    fcm.plan(TOKEN_BAD, ["invalid_token"])
    delivery = wait_for_status(publish_to(user, event_types, subscribe).pk, FINAL)

    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    codes = sorted((t["status"], t["detail"]["fcm_code"], t["detail"].get("gone")) for t in targets(delivery))
    assert codes == [(400, "INVALID_ARGUMENT", True), (404, "NOT_FOUND", True)]
    assert client.get("/api/v1/devices/").json()["results"] == []
    assert not Device.objects.filter(user=user).exists()


def test_a_person_without_devices_fails_without_a_request(fcm_worker, fcm, event_types, make_user, subscribe):
    before = len(fcm.calls)
    delivery = wait_for_status(publish_to(make_user("fcm-none"), event_types, subscribe).pk, FINAL)
    assert delivery.status == DeliveryStatus.FAILED
    assert len(fcm.calls) == before
