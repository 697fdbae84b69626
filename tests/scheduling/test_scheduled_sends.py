"""Scheduled sends and cancellation, with the time passed in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.scheduling.release import deliveries_release_due
from apps.scheduling.services import delivery_cancel, notification_cancel, notification_schedule

pytestmark = pytest.mark.django_db


def test_a_scheduled_delivery_is_released_at_its_time_not_before(news, make_user, publish):
    user = make_user()
    event = publish(news)
    notification = event.notifications.get(user=user)
    at = timezone.now() + timedelta(days=3)
    assert notification_schedule(notification_id=notification.pk, at=at) == 1

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


def test_cancel_stops_what_is_not_sent_and_only_that(news, make_user, publish):
    first, second = make_user(), make_user()
    event = publish(news)
    at = timezone.now() + timedelta(hours=1)
    mine = event.notifications.get(user=first)
    notification_schedule(notification_id=mine.pk, at=at)
    assert notification_cancel(notification_id=mine.pk, by="ops") == 1
    cancelled = Delivery.objects.get(notification=mine)
    assert cancelled.status == DeliveryStatus.CANCELLED
    assert DeliveryEvent.objects.get(delivery=cancelled).detail == {"reason": "cancelled", "by": "ops"}
    assert deliveries_release_due(now=at) == 0  # a cancelled send is never released

    sent = Delivery.objects.get(notification__event=event, notification__user=second)
    Delivery.objects.filter(pk=sent.pk).update(status=DeliveryStatus.SENT)
    assert delivery_cancel(delivery_id=sent.pk) is False
    assert Delivery.objects.get(pk=sent.pk).status == DeliveryStatus.SENT
