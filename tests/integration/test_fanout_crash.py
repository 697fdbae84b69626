"""A worker SIGKILLed in the middle of a large fan-out: a new worker finishes it, and
every recipient has exactly one inbox item."""

import pytest
from django.contrib.auth import get_user_model

from apps.events.models import Event, FanoutState
from apps.notifications.models import UserNotification
from apps.notifications.publish import event_publish
from apps.subscriptions.models import Subscription

from ..worker import Worker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers, pytest.mark.django_db(transaction=True)]

RECIPIENTS = 20_000
# Small chunks make the fan-out long enough to be killed in the middle; a short
# visibility timeout makes Redis hand the unacknowledged task to the next worker soon
# (RabbitMQ hands it out again as soon as the dead worker's connection drops).
CRASH_ENV = {
    "FANOUT_CHUNK_SIZE": "250",
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


def test_sigkill_mid_fan_out_then_a_new_worker_gives_exactly_one_item_each(event_types):
    created = event_types["scenario.created"]
    make_audience(created, RECIPIENTS)
    first = Worker("crash-1", queues="fanout", concurrency=1, env=CRASH_ENV).start(exclusive=True)
    try:
        event, _ = event_publish(event_type=created, data={"name": "Big"})  # autocommit: enqueued now
        wait_until(lambda: UserNotification.objects.filter(event=event).count() >= 2_000, timeout=60, interval=0.01)
        first.kill()
    finally:
        first.kill()

    done_before = UserNotification.objects.filter(event=event).count()
    assert done_before < RECIPIENTS, "the fan-out finished before the kill: nothing was proven"
    assert Event.objects.get(pk=event.pk).fanout_state != FanoutState.DONE

    second = Worker("crash-2", queues="fanout", concurrency=1, env=CRASH_ENV).start()
    try:
        wait_until(lambda: Event.objects.get(pk=event.pk).fanout_state == FanoutState.DONE, timeout=120)
    finally:
        second.stop()

    items = UserNotification.objects.filter(event=event)
    assert items.count() == RECIPIENTS
    assert items.values("user_id").distinct().count() == RECIPIENTS
    assert Event.objects.get(pk=event.pk).recipient_count == RECIPIENTS
