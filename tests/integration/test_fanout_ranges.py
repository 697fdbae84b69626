"""A large event fanned out by ranges on real workers: every recipient gets exactly one
item, and a worker SIGKILLed in the middle leaves its ranges to the next one."""

import os

import pytest
from django.contrib.auth import get_user_model

from apps.events.models import Event, FanoutState
from apps.notifications.models import FanOutRange, UserNotification
from apps.notifications.publish import event_publish
from apps.subscriptions.models import Subscription

from ..worker import Worker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RECIPIENTS = 12_000
RANGES_ENV = {
    "FANOUT_RANGES_FROM": "1000",
    "FANOUT_RANGE_SIZE": "500",  # 24 ranges
    "FANOUT_CHUNK_SIZE": "100",  # several chunks per range: a kill lands inside one
    # A range held by a killed worker comes back to the queue this soon.
    "CELERY_VISIBILITY_TIMEOUT": "4",
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
}


def make_audience(event_type, count):
    User = get_user_model()
    User.objects.bulk_create(User(username=f"crowd{i}", email=f"crowd{i}@example.com") for i in range(count))
    users = User.objects.filter(username__startswith="crowd").values_list("pk", flat=True)
    Subscription.objects.bulk_create(
        Subscription(user_id=pk, event_type=event_type, channel="in_app") for pk in users.iterator()
    )


def assert_exactly_one_item_each(event):
    items = UserNotification.objects.filter(event=event)
    assert items.count() == RECIPIENTS
    assert items.values("user_id").distinct().count() == RECIPIENTS
    event.refresh_from_db()
    assert (event.fanout_state, event.recipient_count) == (FanoutState.DONE, RECIPIENTS)
    assert not FanOutRange.objects.filter(event=event, done_at__isnull=True).exists()


def test_a_large_event_is_fanned_out_by_ranges_on_two_processes(event_types):
    created = event_types["scenario.created"]
    make_audience(created, RECIPIENTS)
    worker = Worker("ranges", queues="fanout", concurrency=2, env=RANGES_ENV).start(exclusive=True)
    try:
        event, _ = event_publish(event_type=created, data={"name": "Big"})  # autocommit: enqueued now
        wait_until(lambda: Event.objects.get(pk=event.pk).fanout_state == FanoutState.DONE, timeout=120)
    finally:
        worker.stop()
    assert_exactly_one_item_each(event)
    ranges = FanOutRange.objects.filter(event=event)
    assert ranges.count() == RECIPIENTS // 500
    assert set(ranges.values_list("taken_by", flat=True)) == {worker.name.replace("%h", os.uname().nodename)}


def test_sigkill_mid_way_then_another_worker_finishes_the_ranges(event_types):
    created = event_types["scenario.created"]
    make_audience(created, RECIPIENTS)
    first = Worker("ranges-1", queues="fanout", concurrency=2, env=RANGES_ENV).start(exclusive=True)
    try:
        event, _ = event_publish(event_type=created, data={"name": "Big"})
        wait_until(lambda: FanOutRange.objects.filter(event=event, done_at__isnull=False).count() >= 3, timeout=60)
        first.kill()
    finally:
        first.kill()
    assert FanOutRange.objects.filter(event=event, done_at__isnull=True).exists(), "finished before the kill"

    second = Worker("ranges-2", queues="fanout", concurrency=2, env=RANGES_ENV).start()
    try:
        wait_until(lambda: Event.objects.get(pk=event.pk).fanout_state == FanoutState.DONE, timeout=120)
    finally:
        second.stop()
    assert_exactly_one_item_each(event)
    assert "ranges-2" in " ".join(FanOutRange.objects.filter(event=event).values_list("taken_by", flat=True))
