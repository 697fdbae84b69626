"""Redis emptied (FLUSHALL) while 10,000 deliveries are queued and a worker is sending
them: what the worker already held is sent, the rest lost their messages, and the first
sweep after recovery re-drives them; every delivery is then sent exactly once, within
the sweeper's interval."""

import time

import pytest
import redis
from django.conf import settings as django_settings

from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.tasks import sweep_stuck_deliveries_task
from apps.events.models import Event, FanoutState
from apps.notifications.publish import event_publish

from ..worker import Worker, wait_until
from .helpers import make_audience, run_id, sent_twice, status_counts
from .sinks import LogSink

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

DELIVERIES = 10_000
FLUSH_AFTER_SENT = 1_000
STALE_SECONDS = 3


def settled(queryset, quiet: float = 3.0) -> bool:
    """True once the count has not moved for `quiet` seconds."""
    last = queryset.count()
    time.sleep(quiet)
    return queryset.count() == last


def test_flushall_with_10000_queued_then_every_delivery_sent_once(broker, event_types, settings):
    settings.DELIVERY_STALE_PENDING_SECONDS = STALE_SECONDS
    executed = event_types["scenario.executed"]
    make_audience(executed, DELIVERIES, channels=["log"], prefix="queued")
    sink = LogSink()
    fanout = Worker(f"flush-fanout-{run_id()}", queues="fanout", concurrency=1).start()
    sender = Worker(f"flush-log-{run_id()}", queues="log", concurrency=2)
    sink.watch(sender)
    client = redis.Redis.from_url(broker.url(0))
    sent = Delivery.objects.filter(status=DeliveryStatus.SENT)
    try:
        event, _ = event_publish(event_type=executed, data={"name": "queued"})
        wait_until(lambda: Event.objects.get(pk=event.pk).fanout_state == FanoutState.DONE, timeout=120, interval=0.2)
        fanout.stop()
        queued = client.llen("log")
        assert queued > 0, "nothing was waiting in the queue"

        sender.start()
        wait_until(lambda: sent.count() >= FLUSH_AFTER_SENT, timeout=120, interval=0.05)
        client.flushall()
        flushed_at, sent_before = time.monotonic(), sent.count()
        # What the worker held goes on; then nothing moves: the other messages are gone.
        wait_until(lambda: settled(sent), timeout=120, interval=0)
        lost = Delivery.objects.filter(status=DeliveryStatus.PENDING).count()
        assert lost > 0, "the flush lost nothing: the test proves nothing"

        # Beat's next sweep (at most DELIVERY_SWEEP_INTERVAL_SECONDS after the flush).
        time.sleep(max(0.0, STALE_SECONDS + 1 - (time.monotonic() - flushed_at)))
        swept_at = time.monotonic()
        counts = sweep_stuck_deliveries_task()
        wait_until(lambda: sent.count() == DELIVERIES, timeout=300, interval=0.5, message="every delivery sent")
        recovered_in = time.monotonic() - swept_at
        assert sender.process.poll() is None
    finally:
        fanout.stop()
        sender.stop()

    print(
        f"\n{DELIVERIES} deliveries, {queued} batches queued; FLUSHALL after {sent_before} sent, "
        f"{lost} lost their message; one sweep {counts} re-drove them; all sent {recovered_in:.1f}s after it "
        f"(sweep interval {django_settings.DELIVERY_SWEEP_INTERVAL_SECONDS}s)"
    )
    deliveries = Delivery.objects.all()
    assert counts["requeued"] == lost
    assert recovered_in <= django_settings.DELIVERY_SWEEP_INTERVAL_SECONDS
    assert status_counts(deliveries) == {DeliveryStatus.SENT: DELIVERIES}
    assert not sent_twice(deliveries)
    received = sink.counts()
    assert len(received) == DELIVERIES and set(received.values()) == {1}
