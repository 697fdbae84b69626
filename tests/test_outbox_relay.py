from datetime import timedelta

import pytest
from django.utils import timezone

from apps.events.models import Event, FanoutState
from apps.events.selectors import event_fanout_overdue
from apps.notifications.publish import event_publish

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
