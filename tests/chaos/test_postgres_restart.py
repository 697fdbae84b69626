"""PostgreSQL restarted in the middle of a fan-out and its dispatch: the same worker
process carries on, the interrupted tasks are retried, tasks after the restart succeed,
and every recipient gets exactly one inbox item and one `sent` delivery."""

import time

import pytest
from django.db import InterfaceError, OperationalError, connection

from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.tasks import sweep_stuck_deliveries_task
from apps.events.models import Event, FanoutState
from apps.notifications.models import UserNotification
from apps.notifications.publish import event_publish
from apps.notifications.tasks import outbox_relay

from ..worker import Worker, wait_until
from .helpers import make_audience, recovered_ids, run_id, sent_twice
from .sinks import LogSink

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

AUDIENCE = 5_000


def reconnecting(predicate):
    """A predicate that survives the test's own connection dying with the server."""

    def check():
        try:
            return predicate()
        except (OperationalError, InterfaceError):
            connection.close()
            return False

    return check


def test_postgres_restart_while_workers_run(broker, private_pg, event_types, settings):
    settings.OUTBOX_RELAY_GRACE_SECONDS = 5
    settings.DELIVERY_STALE_PENDING_SECONDS = 10
    settings.DELIVERY_STUCK_SENDING_SECONDS = 20
    executed = event_types["scenario.executed"]
    make_audience(executed, AUDIENCE, channels=["in_app", "log"])
    sink = LogSink()
    worker = Worker(f"pg-{run_id()}", queues="fanout,log", concurrency=2, env={"FANOUT_CHUNK_SIZE": "250"})
    sink.watch(worker)
    worker.start()
    main_pid, pool_before = worker.process.pid, set(worker.pool_pids)

    try:
        before, _ = event_publish(event_type=executed, data={"name": "before"})
        wait_until(lambda: UserNotification.objects.filter(event=before).count() >= 1_000, timeout=60, interval=0.02)
        private_pg.restart()
        connection.close()  # the test's own connection died with the server too
        after, _ = event_publish(event_type=executed, data={"name": "after"})

        last_beat = 0.0

        def all_done():
            nonlocal last_beat
            if time.monotonic() - last_beat > 2:
                last_beat = time.monotonic()
                outbox_relay()
                sweep_stuck_deliveries_task()
            done = Event.objects.filter(fanout_state=FanoutState.DONE).count() == 2
            return done and Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 2 * AUDIENCE

        wait_until(reconnecting(all_done), timeout=180, interval=0.5, message="both events fanned out and delivered")
        assert worker.process.poll() is None and worker.process.pid == main_pid, "the worker was not restarted"
        assert set(worker.pool_pids) == pool_before, "its pool processes were not replaced either"
    finally:
        worker.stop()

    for event in (before, after):
        assert UserNotification.objects.filter(event=event).count() == AUDIENCE
        assert Event.objects.get(pk=event.pk).recipient_count == AUDIENCE
    deliveries = Delivery.objects.all()
    assert deliveries.count() == 2 * AUDIENCE
    assert not sent_twice(deliveries)
    counts = sink.counts()
    assert len(counts) == AUDIENCE and min(counts.values()) == 2, "a delivery was lost"
    explained = set(
        deliveries.filter(pk__in=recovered_ids(deliveries)).values_list("notification__user__username", flat=True)
    )
    assert {user for user, n in counts.items() if n > 2} <= explained
    log = worker.log_path.read_text()
    print(
        f"after the restart: {log.count('OperationalError')} OperationalError mentions in the worker log, "
        f"{log.count(' retry: Retry in ')} task retries, {len(explained)} deliveries recovered"
    )
