"""Range fan-out on the test database: planning, each range on its own, completion by
the last range (the service is called directly; tests/integration has the workers)."""

import base64
import json
import random

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model

from apps.common.channels import Channel
from apps.delivery.models import Delivery
from apps.events.models import Event, FanoutState
from apps.notifications.fanout import event_fan_out
from apps.notifications.fanout_ranges import event_fan_out_ranges_plan, range_fan_out, range_fan_out_chunks
from apps.notifications.models import FanOutRange, UserNotification
from apps.notifications.publish import event_publish
from apps.notifications.tasks import fan_out_task
from apps.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db

AUDIENCE = 250


@pytest.fixture
def ranged(settings):
    settings.FANOUT_RANGES_FROM = 100
    settings.FANOUT_RANGE_SIZE = 30
    settings.FANOUT_CHUNK_SIZE = 7  # several chunks per range: a range walks its own cursor
    return settings


def make_audience(event_type, count, emailed_every=5):
    """`count` people in the inbox; every `emailed_every`-th one by email too."""
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"crowd{i}", email=f"crowd{i}@example.com") for i in range(count))
    subscriptions = [Subscription(user=user, event_type=event_type, channel=Channel.IN_APP) for user in users]
    subscriptions += [
        Subscription(user=user, event_type=event_type, channel=Channel.EMAIL) for user in users[::emailed_every]
    ]
    Subscription.objects.bulk_create(subscriptions)
    return [user.pk for user in users]


def publish(event_type):
    event, _ = event_publish(event_type=event_type, data={"name": "Big"})
    return event


def test_ranges_tile_the_audience_and_are_planned_once(ranged, event_types):
    created = event_types["scenario.created"]
    user_ids = make_audience(created, AUDIENCE)
    event = publish(created)

    plan = event_fan_out_ranges_plan(event_id=event.pk)
    ranges = list(FanOutRange.objects.filter(event=event).order_by("after_user_id"))
    assert len(plan.range_ids) == len(ranges)
    assert 9 <= len(ranges) <= 11  # about 300 subscriptions in ranges of about 30
    assert ranges[0].after_user_id == 0 and ranges[-1].upto_user_id is None
    for before, after in zip(ranges, ranges[1:], strict=False):
        assert before.upto_user_id == after.after_user_id  # contiguous, no gap, no overlap
    assert ranges[-2].upto_user_id < max(user_ids)
    assert Event.objects.get(pk=event.pk).fanout_state == FanoutState.RUNNING

    again = event_fan_out_ranges_plan(event_id=event.pk)
    assert sorted(again.range_ids) == sorted(plan.range_ids)
    assert FanOutRange.objects.filter(event=event).count() == len(ranges)


def test_each_range_on_its_own_any_order_twice_gives_one_item_each_and_completes_last(ranged, event_types):
    created = event_types["scenario.created"]
    user_ids = make_audience(created, AUDIENCE)
    event = publish(created)
    range_ids = event_fan_out_ranges_plan(event_id=event.pk).range_ids
    random.Random(7).shuffle(range_ids)

    made = 0
    for position, range_id in enumerate(range_ids):
        made += range_fan_out(range_id=range_id)
        assert range_fan_out(range_id=range_id) == 0  # a redelivered range adds nothing
        state = Event.objects.get(pk=event.pk).fanout_state
        assert state == (FanoutState.DONE if position == len(range_ids) - 1 else FanoutState.RUNNING)

    items = UserNotification.objects.filter(event=event)
    assert made == items.count() == AUDIENCE
    assert sorted(items.values_list("user_id", flat=True)) == sorted(user_ids)
    emailed = Delivery.objects.filter(notification__event=event, channel=Channel.EMAIL)
    assert emailed.count() == emailed.values("notification__user_id").distinct().count() == AUDIENCE // 5
    event.refresh_from_db()
    assert event.recipient_count == AUDIENCE and event.fanned_out_at is not None
    assert not FanOutRange.objects.filter(event=event, done_at__isnull=True).exists()
    # A late redelivery of a range of a done event changes nothing.
    assert range_fan_out(range_id=range_ids[0]) == 0
    assert items.count() == AUDIENCE


def test_a_range_resumes_at_its_cursor(ranged, event_types):
    created = event_types["scenario.created"]
    make_audience(created, AUDIENCE)
    event = publish(created)
    first = FanOutRange.objects.get(pk=min(event_fan_out_ranges_plan(event_id=event.pk).range_ids))
    # One chunk committed, then the run stops (a worker lost): the cursor says where.
    chunks = range_fan_out_chunks(range_id=first.pk)
    done = next(chunks)
    chunks.close()
    first.refresh_from_db()
    assert first.cursor == done.upto_user_id and first.done_at is None

    rest = range_fan_out(range_id=first.pk)
    assert done.notifications_created + rest == UserNotification.objects.filter(event=event).count()
    first.refresh_from_db()
    assert first.done_at is not None and first.notifications_created == done.notifications_created + rest


def test_small_events_keep_the_one_task_path(ranged, event_types, make_user, subscribe):
    created = event_types["scenario.created"]
    for _ in range(3):
        subscribe(make_user(), created, Channel.IN_APP)
    event = publish(created)
    assert event_fan_out_ranges_plan(event_id=event.pk) is None
    assert not FanOutRange.objects.filter(event=event).exists()
    assert event_fan_out(event_id=event.pk) == 3


def test_an_event_under_way_as_one_task_is_not_split(ranged, event_types):
    created = event_types["scenario.created"]
    make_audience(created, AUDIENCE)
    event = publish(created)
    Event.objects.filter(pk=event.pk).update(fanout_cursor=5, fanout_state=FanoutState.RUNNING)
    assert event_fan_out_ranges_plan(event_id=event.pk) is None
    assert not FanOutRange.objects.filter(event=event).exists()


def test_ranges_off_when_the_threshold_is_zero(ranged, event_types):
    ranged.FANOUT_RANGES_FROM = 0
    created = event_types["scenario.created"]
    make_audience(created, AUDIENCE)
    assert event_fan_out_ranges_plan(event_id=publish(created).pk) is None


def test_a_relayed_event_whose_ranges_are_all_done_is_marked_done(ranged, event_types):
    created = event_types["scenario.created"]
    make_audience(created, AUDIENCE)
    event = publish(created)
    range_ids = event_fan_out_ranges_plan(event_id=event.pk).range_ids
    for range_id in range_ids:
        range_fan_out(range_id=range_id)
    # As if the event's completion had been lost: the relay's re-drive plans again.
    Event.objects.filter(pk=event.pk).update(fanout_state=FanoutState.RUNNING, fanned_out_at=None)
    assert event_fan_out_ranges_plan(event_id=event.pk).range_ids == []
    event.refresh_from_db()
    assert (event.fanout_state, event.recipient_count) == (FanoutState.DONE, AUDIENCE)


def queued_range_ids() -> list[int]:
    """The range ids of the range tasks waiting on the normal fan-out queue (Redis)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    ids = []
    for raw in client.lrange("fanout", 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == "notifications.fan_out_range":
            args, _, _ = json.loads(base64.b64decode(message["body"]))
            ids.append(args[0])
    return ids


def test_a_re_driven_event_queues_its_undone_ranges_only(ranged, event_types):
    created = event_types["scenario.created"]
    make_audience(created, AUDIENCE)
    event = publish(created)
    range_ids = sorted(event_fan_out_ranges_plan(event_id=event.pk).range_ids)
    for range_id in range_ids[:4]:
        range_fan_out(range_id=range_id)

    fan_out_task.run(event.pk)  # what the outbox relay's re-drive runs

    assert sorted(queued_range_ids()) == range_ids[4:]
    assert FanOutRange.objects.filter(event=event).count() == len(range_ids)  # nothing planned twice
