"""End to end with a real worker: API → event → fan-out → push and webhook dispatch →
real receivers on 127.0.0.1 (reached by the allow-listed name `localhost`)."""

import pytest
from standardwebhooks import Webhook

from apps.delivery.models import Delivery, DeliveryStatus

from ..http_receiver import Answer, Receiver
from ..web_push_browser import Browser, verify_vapid
from ..worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def subscribe_via_api(client, event_type, channel):
    response = client.post("/api/v1/subscriptions/", {"event_type": event_type, "channel": channel}, format="json")
    assert response.status_code == 201, response.json()


def sent_delivery(channel, user):
    def check():
        delivery = Delivery.objects.filter(channel=channel, notification__user=user).first()
        return delivery if delivery and delivery.status == DeliveryStatus.SENT else None

    return wait_until(check, timeout=60, message=f"{channel} delivery sent")


def test_an_event_reaches_a_persons_webhook_signed_and_the_delivery_is_sent(
    celery_worker, event_types, make_user, client_for
):
    author, bob = make_user("author"), make_user("bob")
    bob_client = client_for(bob)
    with Receiver(default=Answer(200, body=b"received")) as receiver:
        secret = bob_client.post("/api/v1/webhook-endpoints/", {"url": receiver.url()}, format="json").json()["secret"]
        subscribe_via_api(bob_client, "scenario.created", "webhook")

        assert client_for(author).post("/api/v1/scenarios/", {"name": "Nightly"}, format="json").status_code == 201
        delivery = sent_delivery("webhook", bob)
        wait_until(lambda: receiver.requests, message="webhook POST")

    [request] = receiver.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == f"dlv_{delivery.pk}"
    assert payload["type"] == "scenario.created"
    assert payload["data"]["data"]["name"] == "Nightly"
    assert payload["data"]["recipient"]["id"] == bob.pk
    sent = delivery.events.get(status=DeliveryStatus.SENT)
    [target] = sent.detail["targets"]
    assert (target["status"], target["detail"]["response"]) == (200, "received")
    assert delivery.attempts == 1


def test_an_event_reaches_a_persons_browser_by_web_push_and_a_gone_one_is_removed(
    celery_worker, event_types, make_user, client_for
):
    author, cat = make_user("author2"), make_user("cat")
    cat_client = client_for(cat)
    browser, stale = Browser(), Browser()
    with Receiver(default=Answer(201)) as push_service, Receiver(default=Answer(410)) as gone_service:
        browser.subscribe(cat_client, push_service.url("/push/cat"))
        stale.subscribe(cat_client, gone_service.url("/push/old"))
        subscribe_via_api(cat_client, "scenario.created", "push")

        assert client_for(author).post("/api/v1/scenarios/", {"name": "Smoke"}, format="json").status_code == 201
        delivery = sent_delivery("push", cat)

    [request] = push_service.requests
    verify_vapid(request.headers["authorization"], audience=f"http://localhost:{push_service.port}")
    message = browser.decrypt(request.body)
    assert message["event_type"] == "scenario.created" and message["data"]["name"] == "Smoke"
    assert message["notification_id"] == delivery.notification_id
    assert len(gone_service.requests) == 1
    assert [s["endpoint"] for s in cat_client.get("/api/v1/push-subscriptions/").json()["results"]] == [
        push_service.url("/push/cat")
    ]
    statuses = sorted(t["status"] for t in delivery.events.get(status=DeliveryStatus.SENT).detail["targets"])
    assert statuses == [201, 410]
