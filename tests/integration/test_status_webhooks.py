"""Status webhooks with a real worker and real receivers on 127.0.0.1: a service's
delivery status changes reach its endpoint in batches of at most 100, signed so that
the `standardwebhooks` library verifies them, a failed batch is sent again unchanged
after a backoff, a slow receiver delays no other, and the outbound guard refuses a
loopback address that is not the allow-listed test name (`localhost`)."""

import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from apps.common.channels import Channel
from apps.common.services import api_key_create
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.events.models import Event
from apps.integrations.api import StatusChangesPayload
from apps.integrations.models import StatusWebhookEndpoint
from apps.integrations.services import status_webhook_create
from apps.integrations.tasks import status_webhooks_relay_task
from apps.notifications.models import UserNotification

from ..conftest import SESSION_QUEUES
from ..http_receiver import Answer, Receiver
from ..worker import Worker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Changes are sent as soon as they are written, and a failed batch is retried within a second.
RELAY_ENV = {
    "STATUS_WEBHOOK_SETTLE_SECONDS": "0",
    "STATUS_WEBHOOK_BACKOFF_SECONDS": "0.5",
    "STATUS_WEBHOOK_BACKOFF_MAX_SECONDS": "1",
}


@pytest.fixture(scope="module")
def relay_worker(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        worker = Worker("status-webhooks", queues=SESSION_QUEUES, env=RELAY_ENV).start(exclusive=True)
    yield worker
    worker.stop()


def relay_until(predicate, message: str, timeout: float = 30):
    """Run the relay as beat does, until `predicate` holds."""

    def relayed():
        status_webhooks_relay_task.delay()
        return predicate()

    return wait_until(relayed, timeout=timeout, interval=0.3, message=message)


def service_client(scopes=("notifications:write", "events:write")):
    api_key, raw = api_key_create(name="shop", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api_key, client


def verified(secret, request) -> dict:
    """The payload, once the standardwebhooks library accepted its signature."""
    return Webhook(secret).verify(request.body, request.headers)


def delivery_of(api_key, user, event_type, *, changes: int) -> Delivery:
    """A delivery of the key's published event with `changes` history rows."""
    event = Event.objects.create(event_type=event_type, api_key=api_key, data={})
    now = timezone.now()
    item = UserNotification.objects.create(event=event, user=user, title="t", created_at=now)
    delivery = Delivery.objects.create(notification=item, channel=Channel.LOG, created_at=now, updated_at=now)
    DeliveryEvent.objects.bulk_create(
        [DeliveryEvent(delivery=delivery, status=DeliveryStatus.SENT, detail={"n": n}) for n in range(changes)]
    )
    return delivery


def test_a_services_send_and_event_statuses_reach_its_receiver_signed(relay_worker, event_types, make_user, subscribe):
    rita = make_user("rita")
    subscribe(rita, event_types["scenario.executed"], Channel.LOG)
    _, shop = service_client()
    _, other = service_client()
    with Receiver(default=Answer(200)) as receiver:
        created = shop.post("/api/v1/status-webhooks/", {"url": receiver.url()}, format="json")
        assert created.status_code == 201, created.json()
        secret = created.json()["secret"]

        sent = shop.post(
            "/api/v1/notifications/",
            {"event_type": "scenario.created", "recipients": [rita.pk], "channels": ["log"], "data": {"name": "A"}},
            format="json",
        )
        published = shop.post(
            "/api/v1/events/", {"event_type": "scenario.executed", "data": {"name": "B"}}, format="json"
        )
        foreign = other.post(
            "/api/v1/notifications/",
            {"event_type": "scenario.deleted", "recipients": [rita.pk], "channels": ["log"], "data": {"name": "C"}},
            format="json",
        )
        assert (sent.status_code, published.status_code, foreign.status_code) == (202, 202, 202)
        deliveries = Delivery.objects.filter(notification__user=rita)
        wait_until(lambda: deliveries.filter(status=DeliveryStatus.SENT).count() == 3, message="3 deliveries sent")

        def changes():
            return [change for request in receiver.requests for change in verified(secret, request)["data"]]

        relay_until(lambda: len(changes()) >= 2, message="both deliveries' changes")

    payloads = [verified(secret, request) for request in receiver.requests]
    assert {p["type"] for p in payloads} == {"delivery.status_changes"}
    for payload in payloads:  # as the OpenAPI document describes it
        assert StatusChangesPayload(data=payload).is_valid(), StatusChangesPayload(data=payload).errors
    by_delivery = {change["delivery_id"]: change for change in changes()}
    send_delivery = deliveries.get(notification__event__direct_send__id=sent.json()["id"])
    event_delivery = deliveries.get(notification__event_id=published.json()["id"])
    foreign_delivery = deliveries.get(notification__event__direct_send__id=foreign.json()["id"])
    assert set(by_delivery) == {send_delivery.pk, event_delivery.pk}, "only the key's own changes"
    recipient = {"user_id": rita.pk, "username": "rita", "address": None}
    assert by_delivery[send_delivery.pk] | {"id": "", "at": ""} == {
        "id": "",
        "at": "",
        "send_id": sent.json()["id"],
        "event_id": send_delivery.notification.event_id,
        "delivery_id": send_delivery.pk,
        "channel": "log",
        "recipient": recipient,
        "status": "sent",
    }
    change = by_delivery[event_delivery.pk]
    assert (change["send_id"], change["event_id"], change["status"]) == (None, published.json()["id"], "sent")
    history = DeliveryEvent.objects.get(delivery=event_delivery, status="sent")
    assert change["id"] == f"dse_{history.pk}" and change["at"] == history.at.isoformat()
    assert foreign_delivery.pk not in by_delivery


def test_250_changes_come_in_3_signed_requests_in_order(relay_worker, event_types, make_user):
    api_key, _ = service_client()
    with Receiver(default=Answer(204, body=b"")) as receiver:
        endpoint = status_webhook_create(api_key=api_key, url=receiver.url())
        delivery = delivery_of(api_key, make_user("bulk"), event_types["scenario.created"], changes=250)
        relay_until(lambda: sum(len(json.loads(r.body)["data"]) for r in receiver.requests) >= 250, "250 changes")

    assert len(receiver.requests) == 3
    batches = [verified(endpoint.secret, request)["data"] for request in receiver.requests]
    assert [len(batch) for batch in batches] == [100, 100, 50]
    history = list(DeliveryEvent.objects.filter(delivery=delivery).order_by("id").values_list("id", flat=True))
    assert [change["id"] for batch in batches for change in batch] == [f"dse_{pk}" for pk in history]
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == 3
    endpoint.refresh_from_db()
    assert (endpoint.cursor, endpoint.attempts, endpoint.pending_upto) == (history[-1], 0, None)


def test_a_failed_batch_is_sent_again_unchanged_after_a_backoff(relay_worker, event_types, make_user):
    api_key, _ = service_client()
    with Receiver(Answer(500, body=b"down"), default=Answer(200)) as receiver:
        endpoint = status_webhook_create(api_key=api_key, url=receiver.url())
        start = endpoint.cursor
        delivery = delivery_of(api_key, make_user("retry"), event_types["scenario.created"], changes=5)
        status_webhooks_relay_task.delay()
        wait_until(lambda: StatusWebhookEndpoint.objects.get(pk=endpoint.pk).attempts == 1, message="a failure")
        failed = StatusWebhookEndpoint.objects.get(pk=endpoint.pk)
        assert failed.cursor == start, "the cursor moves only on a 2xx"
        assert "answered 500" in failed.last_error and failed.next_try_at is not None
        # A change after the failed batch waits for the next batch: the retry is the same one.
        later = DeliveryEvent.objects.create(delivery=delivery, status=DeliveryStatus.DELIVERED)
        relay_until(lambda: len(receiver.requests) >= 3, message="the retry and the next batch")

    first, retry, following = receiver.requests
    assert retry.headers["webhook-id"] == first.headers["webhook-id"]
    assert verified(endpoint.secret, retry) == verified(endpoint.secret, first)
    assert len(verified(endpoint.secret, first)["data"]) == 5
    [change] = verified(endpoint.secret, following)["data"]
    assert (change["id"], change["status"]) == (f"dse_{later.pk}", "delivered")
    endpoint.refresh_from_db()
    assert (endpoint.cursor, endpoint.attempts, endpoint.last_error, endpoint.next_try_at) == (later.pk, 0, "", None)


def test_a_slow_receiver_holds_up_no_other_endpoint(relay_worker, event_types, make_user):
    slow_key, _ = service_client()
    quick_key, _ = service_client()
    with Receiver(default=Answer(200, delay=6)) as slow, Receiver(default=Answer(200)) as quick:
        slow_endpoint = status_webhook_create(api_key=slow_key, url=slow.url())
        quick_endpoint = status_webhook_create(api_key=quick_key, url=quick.url())
        delivery_of(slow_key, make_user("slow"), event_types["scenario.created"], changes=1)
        delivery_of(quick_key, make_user("quick"), event_types["scenario.created"], changes=1)
        status_webhooks_relay_task.delay()
        wait_until(lambda: quick.requests and slow.requests, timeout=5, message="both receivers called")
        # The quick one is through while the slow receiver still holds its answer.
        wait_until(
            lambda: StatusWebhookEndpoint.objects.get(pk=quick_endpoint.pk).cursor > quick_endpoint.cursor,
            timeout=5,
            message="the quick endpoint's cursor moved",
        )
        assert StatusWebhookEndpoint.objects.get(pk=slow_endpoint.pk).cursor == slow_endpoint.cursor
        wait_until(
            lambda: StatusWebhookEndpoint.objects.get(pk=slow_endpoint.pk).cursor > slow_endpoint.cursor,
            timeout=15,
            message="the slow endpoint's cursor moved",
        )


def test_the_guard_refuses_a_loopback_target_unless_it_is_the_allowed_test_name(relay_worker, event_types, make_user):
    api_key, _ = service_client()
    with Receiver(default=Answer(200)) as receiver:
        # Written past the API's validation, as a URL whose host later resolves inside would be.
        endpoint = status_webhook_create(api_key=api_key, url=receiver.url(host="127.0.0.1"))
        delivery_of(api_key, make_user("guarded"), event_types["scenario.created"], changes=3)
        status_webhooks_relay_task.delay()
        wait_until(lambda: StatusWebhookEndpoint.objects.get(pk=endpoint.pk).attempts == 1, message="a refusal")
        refused = StatusWebhookEndpoint.objects.get(pk=endpoint.pk)
        assert "loopback address 127.0.0.1" in refused.last_error and refused.cursor == endpoint.cursor
        assert receiver.requests == []

        StatusWebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url(host="localhost"))
        relay_until(lambda: receiver.requests, message="the allow-listed name reached")
    assert len(verified(endpoint.secret, receiver.requests[0])["data"]) == 3
