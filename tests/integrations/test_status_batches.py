"""How the relay cuts a service's changes into batches: only the key's own, oldest first,
through bounded windows of the history, never past the settled horizon. The run is
called in this process (no worker), posting to a real receiver on 127.0.0.1."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.common.channels import Channel
from apps.common.services import api_key_create, api_key_revoke
from apps.delivery.models import Delivery, DeliveryEvent
from apps.events.models import Event
from apps.integrations import relay, selectors
from apps.integrations.models import StatusWebhookEndpoint
from apps.integrations.relay import status_webhook_run
from apps.integrations.selectors import status_batch_next, status_history_horizon, status_webhooks_due
from apps.integrations.services import status_webhook_create
from apps.notifications.models import UserNotification

from ..http_receiver import Answer, Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def delivery_for(api_key, user, event_type) -> Delivery:
    event = Event.objects.create(event_type=event_type, api_key=api_key, data={})
    now = timezone.now()
    item = UserNotification.objects.create(event=event, user=user, title="t", created_at=now)
    return Delivery.objects.create(notification=item, channel=Channel.LOG, created_at=now, updated_at=now)


def history(delivery, count, status="sent") -> list[int]:
    rows = DeliveryEvent.objects.bulk_create([DeliveryEvent(delivery=delivery, status=status) for _ in range(count)])
    return [row.pk for row in rows]


@pytest.fixture
def small_batches(monkeypatch, settings):
    """Batches of 4 through windows of 7 history ids, sent as soon as written."""
    monkeypatch.setattr(selectors, "BATCH_SIZE", 4)
    monkeypatch.setattr(relay, "BATCH_SIZE", 4)
    monkeypatch.setattr(selectors, "SCAN_WINDOW", 7)
    settings.STATUS_WEBHOOK_SETTLE_SECONDS = 0


@pytest.fixture
def two_services(event_types, make_user):
    mine, _ = api_key_create(name="shop")
    theirs, _ = api_key_create(name="billing")
    kind = event_types["scenario.created"]
    return mine, delivery_for(mine, make_user("m"), kind), delivery_for(theirs, make_user("t"), kind)


def test_only_the_keys_own_changes_come_oldest_first_in_batches(small_batches, two_services):
    mine, my_delivery, their_delivery = two_services
    with Receiver(default=Answer(200)) as receiver:
        endpoint = status_webhook_create(api_key=mine, url=receiver.url())
        history(their_delivery, 25)
        own = history(my_delivery, 3)
        history(their_delivery, 25)
        own += history(my_delivery, 2, status="delivered")
        history(their_delivery, 3)
        result = status_webhook_run(endpoint_id=endpoint.pk)

    batches = [json.loads(request.body)["data"] for request in receiver.requests]
    assert [[change["id"] for change in batch] for batch in batches] == [
        [f"dse_{pk}" for pk in own[:4]],
        [f"dse_{own[4]}"],
    ]
    assert {change["delivery_id"] for batch in batches for change in batch} == {my_delivery.pk}
    assert (result.requests, result.changes, result.failed) == (2, 5, False)
    endpoint.refresh_from_db()
    # Level with the newest history row: the other key's rows after its own were passed too.
    assert endpoint.cursor == DeliveryEvent.objects.latest("id").pk and endpoint.leased_until is None


def test_a_batch_cut_short_by_the_windows_moves_on_without_a_request(monkeypatch, small_batches, two_services):
    mine, my_delivery, their_delivery = two_services
    monkeypatch.setattr(selectors, "MAX_WINDOWS", 2)
    endpoint = status_webhook_create(api_key=mine, url="http://localhost:9/never")
    start = endpoint.cursor
    theirs = history(their_delivery, 30)
    own = history(my_delivery, 1)

    batch = status_batch_next(endpoint=endpoint, horizon=status_history_horizon(now=timezone.now()))
    # Two windows of 7 rows held none of the key's changes: the batch is empty, and ends there.
    assert (batch.after, batch.upto, batch.changes) == (start, theirs[13], [])
    with Receiver(default=Answer(200)) as receiver:
        StatusWebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url())
        status_webhook_run(endpoint_id=endpoint.pk)
    [request] = receiver.requests
    assert [change["id"] for change in json.loads(request.body)["data"]] == [f"dse_{own[0]}"]


def test_changes_younger_than_the_settling_time_wait(settings, two_services):
    mine, my_delivery, _ = two_services
    settings.STATUS_WEBHOOK_SETTLE_SECONDS = 60
    with Receiver(default=Answer(200)) as receiver:
        endpoint = status_webhook_create(api_key=mine, url=receiver.url())
        history(my_delivery, 2)
        assert status_webhook_run(endpoint_id=endpoint.pk).requests == 0
        assert receiver.requests == []
        assert StatusWebhookEndpoint.objects.get(pk=endpoint.pk).cursor == endpoint.cursor

        # A minute on, they are settled and go.
        DeliveryEvent.objects.filter(delivery=my_delivery).update(at=timezone.now() - timedelta(minutes=2))
        assert status_webhook_run(endpoint_id=endpoint.pk).changes == 2


def test_a_revoked_keys_endpoints_are_no_longer_due(settings, two_services):
    mine, my_delivery, _ = two_services
    settings.STATUS_WEBHOOK_SETTLE_SECONDS = 0
    endpoint = status_webhook_create(api_key=mine, url="https://hooks.example.com/status")
    history(my_delivery, 1)
    horizon = status_history_horizon(now=timezone.now())
    assert status_webhooks_due(now=timezone.now(), horizon=horizon) == [endpoint.pk]
    api_key_revoke(api_key=mine)
    assert status_webhooks_due(now=timezone.now(), horizon=horizon) == []
