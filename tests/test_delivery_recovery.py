"""Recovery of deliveries no running task will finish: orphans of a dead worker and the
sweeper's stuck and stale deliveries (services called directly, what they return
enqueued as the tasks do; the enqueued messages are read back from the test Redis)."""

import base64
import json
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.recovery import WORKER_LOST, deliveries_recover_orphans, deliveries_sweep_stuck
from apps.delivery.tasks import requeues_enqueue
from apps.events.models import Event
from apps.notifications.fanout import event_fan_out
from apps.notifications.publish import event_publish

from .chaos.helpers import make_audience

pytestmark = pytest.mark.django_db


QUEUES = ("log", "log.high")


@pytest.fixture
def queue():
    """The `log` queues on the test Redis, emptied; returns the delivery ids enqueued on
    one (the normal priority's by default)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(*QUEUES)

    def enqueued(name: str = "log") -> list[list[int]]:
        batches = []
        for raw in client.lrange(name, 0, -1):
            args, _kwargs, _embed = json.loads(base64.b64decode(json.loads(raw)["body"]))
            batches.append(args[1])
        return batches

    yield enqueued
    client.delete(*QUEUES)


@pytest.fixture
def deliveries(event_types, make_user, subscribe):
    executed = event_types["scenario.executed"]
    for _ in range(3):
        subscribe(make_user(), executed, Channel.LOG)
    event, _ = event_publish(event_type=executed, data={"name": "Recovery"})
    event_fan_out(event_id=event.pk)
    return list(Delivery.objects.filter(notification__event=event).order_by("pk"))


def set_state(delivery, **fields):
    Delivery.objects.filter(pk=delivery.pk).update(**fields)


def test_orphans_go_dead_at_the_limit_and_the_rest_back_to_pending_one_per_task(
    deliveries, queue, django_capture_on_commit_callbacks
):
    spent, young, untouched = deliveries
    set_state(spent, status=DeliveryStatus.SENDING, attempts=settings.DELIVERY_MAX_ATTEMPTS_DEFAULT)
    set_state(young, status=DeliveryStatus.SENDING, attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        result = deliveries_recover_orphans(channel_key="log", delivery_ids=[d.pk for d in deliveries])
        requeues_enqueue(result.requeues(channel="log", priority="normal"))

    assert (result.dead, result.retried_ids) == ([spent.pk], [young.pk])
    spent.refresh_from_db(), young.refresh_from_db(), untouched.refresh_from_db()
    assert spent.status == DeliveryStatus.DEAD and WORKER_LOST in spent.last_error
    assert young.status == DeliveryStatus.PENDING and young.attempts == 1
    assert untouched.status == DeliveryStatus.PENDING  # never claimed: not an orphan
    assert [e.status for e in spent.events.all()] == ["dead"]
    assert [e.detail["error"] for e in young.events.all()] == [WORKER_LOST]
    assert queue() == [[young.pk]]  # alone in its batch


def test_sweeper_recovers_long_sending_and_re_enqueues_stale_pending(
    deliveries, queue, settings, django_capture_on_commit_callbacks
):
    stuck, stale, fresh = deliveries
    # The sweeper puts them back on the queue of their send's priority.
    Event.objects.filter(notifications__deliveries=stuck).update(priority="high")
    long_ago = timezone.now() - timedelta(hours=2)
    set_state(stuck, status=DeliveryStatus.SENDING, attempts=1, updated_at=long_ago)
    set_state(stale, updated_at=long_ago)
    settings.DELIVERY_STUCK_SENDING_SECONDS = settings.DELIVERY_STALE_PENDING_SECONDS = 3600

    with django_capture_on_commit_callbacks(execute=True):
        sweep = deliveries_sweep_stuck()
        assert sweep.counts() == {"recovered": 1, "requeued": 1}
        assert requeues_enqueue(sweep.requeues) == 2

    stuck.refresh_from_db()
    assert stuck.status == DeliveryStatus.PENDING
    assert sorted(queue("log.high")) == sorted([[stuck.pk], [stale.pk]])  # the fresh one is left alone
    assert queue("log") == []


def test_one_sweep_re_drives_more_stale_pending_than_a_batch_and_the_next_takes_others(
    event_types, subscribe, queue, settings
):
    """A broker emptied with 12,000 queued: one sweep takes them all, 5,000 at a time;
    past DELIVERY_SWEEP_MAX_PENDING the next sweep takes the ones not yet taken, not the
    same again."""
    executed = event_types["scenario.executed"]
    make_audience(executed, 12_000, channels=["log"], prefix="swept")
    event, _ = event_publish(event_type=executed, data={"name": "Lost"})
    event_fan_out(event_id=event.pk)
    lost = Delivery.objects.filter(notification__event=event)
    lost.update(updated_at=timezone.now() - timedelta(hours=2))
    settings.DELIVERY_STALE_PENDING_SECONDS = 3600

    settings.DELIVERY_SWEEP_MAX_PENDING = 50_000
    sweep = deliveries_sweep_stuck(limit=5_000)
    assert sweep.requeued == 12_000 and [len(r.delivery_ids) for r in sweep.requeues] == [5_000, 5_000, 2_000]
    assert deliveries_sweep_stuck().requeued == 0  # touched: their messages are queued again

    lost.update(updated_at=timezone.now() - timedelta(hours=2))
    settings.DELIVERY_SWEEP_MAX_PENDING = 7_000
    first = {pk for r in deliveries_sweep_stuck(limit=5_000).requeues for pk in r.delivery_ids}
    second = {pk for r in deliveries_sweep_stuck(limit=5_000).requeues for pk in r.delivery_ids}
    assert (len(first), len(second)) == (7_000, 5_000)
    assert first | second == set(lost.values_list("pk", flat=True))
