from datetime import timedelta

import pytest
from django.utils import timezone

from apps.events.models import Event, FanoutState
from apps.events.selectors import event_fanout_overdue
from apps.notifications.publish import event_publish
from apps.notifications.tasks import outbox_relay

from .broker import purge_task_queues, queued_task_args
from .worker import stop_all_workers

pytestmark = pytest.mark.django_db


def overdue_ids() -> list[int]:
    return [pk for ids in event_fanout_overdue().values() for pk in ids]


def test_relay_finds_only_stalled_unfinished_events(event_types, settings):
    settings.OUTBOX_RELAY_GRACE_SECONDS = 60
    old = timezone.now() - timedelta(minutes=5)
    never_started, _ = event_publish(event_type="scenario.created", data={})
    stalled, _ = event_publish(event_type="scenario.created", data={})
    progressing, _ = event_publish(event_type="scenario.created", data={})
    done, _ = event_publish(event_type="scenario.created", data={})
    fresh, _ = event_publish(event_type="scenario.created", data={})
    Event.objects.filter(pk__in=[never_started.pk, stalled.pk, progressing.pk, done.pk]).update(created_at=old)
    Event.objects.filter(pk=stalled.pk).update(fanout_state=FanoutState.RUNNING, fanout_heartbeat_at=old)
    Event.objects.filter(pk=progressing.pk).update(fanout_state=FanoutState.RUNNING, fanout_heartbeat_at=timezone.now())
    Event.objects.filter(pk=done.pk).update(fanout_state=FanoutState.DONE)

    assert sorted(overdue_ids()) == sorted([never_started.pk, stalled.pk])
    assert fresh.pk not in overdue_ids()


def queued_fan_outs(queue: str = "fanout") -> set[int]:
    """Event ids of the fan-out tasks waiting in the broker's queue `queue`."""
    event_ids: set[int] = set()
    for args in queued_task_args(queue):
        event_ids.update(args[0] if isinstance(args[0], list) else [args[0]])
    return event_ids


@pytest.mark.both_brokers
def test_a_thousand_stuck_events_never_starve_a_newer_one(event_types, settings):
    """1,000 events whose fan-out never finishes (nothing consumes the fan-out queue
    meanwhile) and a run's worth of 500: each run takes a bounded batch, the stuck ones go to
    the back once relayed, and the newer event is re-driven within the next turns; the
    old oldest-first order would have re-driven the same 500 forever."""
    settings.OUTBOX_RELAY_GRACE_SECONDS = 60
    settings.OUTBOX_RELAY_BATCH_SIZE = 500
    stop_all_workers()  # the fan-outs stay queued, for the test to read
    purge_task_queues()
    event_type = event_types["scenario.created"]
    Event.objects.bulk_create(Event(event_type=event_type, data={"n": n}) for n in range(1_000))
    Event.objects.update(created_at=timezone.now() - timedelta(hours=1))
    stuck = set(Event.objects.values_list("pk", flat=True))

    assert outbox_relay() == 500
    assert outbox_relay() == 500  # the other 500: the first are waiting their backoff
    assert Event.objects.filter(relay_attempts=1).count() == 1_000
    assert queued_fan_outs() == stuck

    newer, _ = event_publish(event_type="scenario.created", data={"n": "new"})
    Event.objects.filter(pk=newer.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    # Every stuck event's turn has come again (its backoff is over) and they are older,
    # yet the newer one has never been relayed: it goes first.
    Event.objects.filter(pk__in=stuck).update(relay_next_at=timezone.now() - timedelta(seconds=1))
    assert outbox_relay() == 500
    assert newer.pk in queued_fan_outs()
    newer.refresh_from_db()
    assert newer.relay_attempts == 1 and newer.relay_next_at > timezone.now()


def test_an_event_relayed_again_waits_longer_each_time(event_types, settings):
    settings.OUTBOX_RELAY_GRACE_SECONDS = 60
    settings.OUTBOX_RELAY_BACKOFF_MAX_SECONDS = 300
    event, _ = event_publish(event_type="scenario.created", data={})
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(hours=1))
    waits = []
    for _ in range(5):
        assert outbox_relay() == 1
        assert outbox_relay() == 0  # not again before its turn
        event.refresh_from_db()
        waits.append(round((event.relay_next_at - timezone.now()).total_seconds() / 10) * 10)
        Event.objects.filter(pk=event.pk).update(relay_next_at=timezone.now() - timedelta(seconds=1))
    assert waits == [60, 120, 240, 300, 300]
