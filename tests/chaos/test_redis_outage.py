"""Redis stopped for 10 s and started again empty while events are published: publishing
keeps answering quickly, and once Redis is back the outbox relay fans out every committed
event whose message was lost, each exactly once, and every delivery is sent once."""

import time

import pytest
from django.db import transaction

from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.tasks import sweep_stuck_deliveries_task
from apps.events.models import Event, FanoutState
from apps.notifications.models import UserNotification
from apps.notifications.publish import event_publish
from apps.notifications.tasks import outbox_relay

from ..worker import Worker, wait_until
from .helpers import make_audience, run_id, sent_twice
from .sinks import LogSink

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

AUDIENCE = 200
DOWN_AT, UP_AT, PUBLISH_FOR = 3.0, 13.0, 18.0
PUBLISH_EVERY = 0.3
# Publishing must not wait on a broker that is down: a publish returns well within this.
PUBLISH_BUDGET = 3.0


def test_redis_down_for_10s_and_back_empty_loses_and_doubles_nothing(broker, event_types, settings):
    settings.OUTBOX_RELAY_GRACE_SECONDS = 3
    settings.DELIVERY_STALE_PENDING_SECONDS = 5
    executed = event_types["scenario.executed"]
    make_audience(executed, AUDIENCE, channels=["in_app", "log"])
    sink = LogSink()
    worker = Worker(f"redis-{run_id()}", queues="fanout,log", concurrency=2)
    sink.watch(worker)
    worker.start()

    events, timings = [], []
    try:
        began = time.monotonic()
        phase = "up"
        while (elapsed := time.monotonic() - began) < PUBLISH_FOR:
            if phase == "up" and elapsed >= DOWN_AT:
                broker.stop()
                phase = "down"
            elif phase == "down" and elapsed >= UP_AT:
                broker.start()  # empty: every queued and unacknowledged message is gone
                phase = "back"
            started = time.monotonic()
            with transaction.atomic():
                event, _ = event_publish(event_type=executed, data={"n": len(events)})
            timings.append((phase, time.monotonic() - started))
            events.append(event.pk)
            time.sleep(PUBLISH_EVERY)

        last_beat = 0.0

        def all_done():
            nonlocal last_beat
            if time.monotonic() - last_beat > 2:
                last_beat = time.monotonic()
                outbox_relay()
                sweep_stuck_deliveries_task()
            done = Event.objects.filter(pk__in=events, fanout_state=FanoutState.DONE).count() == len(events)
            sent = Delivery.objects.filter(status=DeliveryStatus.SENT).count() == len(events) * AUDIENCE
            return done and sent

        wait_until(all_done, timeout=120, interval=0.5, message="every event fanned out and delivered")
        assert worker.process.poll() is None, "the worker must ride out the outage"
    finally:
        worker.stop()

    during = [seconds for phase, seconds in timings if phase == "down"]
    print(f"{len(events)} events, {len(during)} while Redis was down; slowest publish then {max(during):.2f}s")
    assert len(during) >= 10, "too few events published during the outage to prove anything"
    assert max(seconds for _, seconds in timings) < PUBLISH_BUDGET

    for event in Event.objects.filter(pk__in=events):
        assert event.recipient_count == AUDIENCE
        assert UserNotification.objects.filter(event=event).count() == AUDIENCE
    deliveries = Delivery.objects.all()
    assert deliveries.count() == len(events) * AUDIENCE
    assert not sent_twice(deliveries)
    # Nothing was lost and, no worker having died, nothing was sent twice.
    assert set(sink.counts().values()) == {len(events)}
    assert len(sink.counts()) == AUDIENCE
