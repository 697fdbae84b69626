"""Held deliveries released at their time (passed in), and a send's cancellation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.notifications.fanout import event_fan_out
from apps.notifications.sends import direct_send_cancel, direct_send_create
from apps.scheduling.release import deliveries_release_due

pytestmark = pytest.mark.django_db


def test_a_held_delivery_is_released_at_its_time_not_before(news, make_user, publish):
    user = make_user()
    event = publish(news)
    notification = event.notifications.get(user=user)
    at = timezone.now() + timedelta(days=3)
    # Held as quiet hours hold it.
    assert Delivery.objects.filter(notification=notification).update(not_before=at) == 1

    assert deliveries_release_due(now=at - timedelta(seconds=1)) == 0
    assert Delivery.objects.get(notification=notification).not_before == at
    assert deliveries_release_due(now=at) == 1
    delivery = Delivery.objects.get(notification=notification)
    assert (delivery.status, delivery.not_before) == (DeliveryStatus.PENDING, None)
    assert deliveries_release_due(now=at + timedelta(hours=1)) == 0  # released once


def test_release_works_in_batches(news, make_user, publish):
    users = [make_user() for _ in range(5)]
    event = publish(news)
    at = timezone.now() + timedelta(minutes=5)
    Delivery.objects.filter(notification__event=event).update(not_before=at)
    assert deliveries_release_due(now=at, batch_size=2, max_batches=1) == 2  # the rest next run
    assert deliveries_release_due(now=at, batch_size=2) == 3
    assert not Delivery.objects.filter(notification__user__in=users, not_before__isnull=False).exists()


def test_cancel_stops_what_is_not_sent_and_only_that(news, make_user):
    people = [make_user() for _ in range(3)]
    send = direct_send_create(
        caller=make_user("staff"), event_type=news, recipients=[p.pk for p in people], channels=["log"]
    )
    event_fan_out(event_id=send.event_id)
    deliveries = list(Delivery.objects.filter(notification__event_id=send.event_id).order_by("pk"))
    sent, held, pending = deliveries
    Delivery.objects.filter(pk=sent.pk).update(status=DeliveryStatus.SENT)
    at = timezone.now() + timedelta(hours=1)
    Delivery.objects.filter(pk=held.pk).update(not_before=at)

    assert direct_send_cancel(send=send, by="ops") == 2
    assert direct_send_cancel(send=send, by="ops") == 0  # a repeat cancels nothing twice
    statuses = dict(Delivery.objects.filter(notification__event_id=send.event_id).values_list("pk", "status"))
    assert statuses == {
        sent.pk: DeliveryStatus.SENT,
        held.pk: DeliveryStatus.CANCELLED,
        pending.pk: DeliveryStatus.CANCELLED,
    }
    history = DeliveryEvent.objects.filter(delivery_id__in=[held.pk, pending.pk])
    assert sorted(history.values_list("delivery_id", "status")) == [
        (held.pk, DeliveryStatus.CANCELLED),
        (pending.pk, DeliveryStatus.CANCELLED),
    ]
    assert [e.detail for e in history] == [{"reason": "send cancelled", "by": "ops"}] * 2
    assert deliveries_release_due(now=at) == 0  # a cancelled delivery is never released
    assert not DeliveryEvent.objects.filter(delivery_id=sent.pk).exists()


def test_cancel_of_a_large_send_is_one_update_per_chunk(news, make_user, django_assert_max_num_queries, settings):
    from apps.notifications import send_cancel

    people = [make_user() for _ in range(12)]
    send = direct_send_create(
        caller=make_user("staff"), event_type=news, recipients=[p.pk for p in people], channels=["log", "email"]
    )
    event_fan_out(event_id=send.event_id)
    send_cancel.CANCEL_CHUNK = 10
    try:
        # 24 deliveries in chunks of 10: 3 chunks, each a select, a lock, an UPDATE and
        # a history insert (plus savepoints), not a transaction per delivery.
        with django_assert_max_num_queries(30):
            cancelled, more = send_cancel.send_deliveries_cancel(send_id=send.pk, by="ops")
    finally:
        send_cancel.CANCEL_CHUNK = 5000
    assert (cancelled, more) == (24, False)
    assert not Delivery.objects.filter(notification__event_id=send.event_id).exclude(status="cancelled").exists()
