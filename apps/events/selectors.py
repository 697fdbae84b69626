from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from .models import Event, EventBatch, EventType, FanoutState


def event_type_list():
    return EventType.objects.order_by("key")


def event_fanout_overdue(*, limit: int | None = None) -> dict[str, list[int]]:
    """Events committed but not fanned out, whose fan-out made no progress lately and
    whose relay turn has come: {priority: [event ids]}, at most `limit`
    (OUTBOX_RELAY_BATCH_SIZE) of them.

    Fair: those never relayed first (oldest first), then those relayed before, the one
    waiting longest first. An event relayed again and again (a poison fan-out) waits
    longer each time (events_relay_schedule) and behind every newer one.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.OUTBOX_RELAY_GRACE_SECONDS)
    stale = Q(fanout_heartbeat_at__lt=cutoff) | Q(fanout_heartbeat_at__isnull=True, created_at__lt=cutoff)
    rows = (
        Event.objects.exclude(fanout_state=FanoutState.DONE)
        .filter(stale)
        .filter(Q(relay_next_at__isnull=True) | Q(relay_next_at__lte=now))
        # A direct send for later is not late: beat releases it when it is due.
        .exclude(direct_send__status="scheduled")
        .order_by(F("relay_next_at").asc(nulls_first=True), "created_at")
        .values_list("id", "priority")[: limit or settings.OUTBOX_RELAY_BATCH_SIZE]
    )
    by_priority: dict[str, list[int]] = {}
    for event_id, priority in rows:
        by_priority.setdefault(priority, []).append(event_id)
    return by_priority


def batch_summary_of_notification(*, notification_id: int) -> dict | None:
    """The summary of the closed batching window whose item this is, else None."""
    return (
        EventBatch.objects.filter(notification_id=notification_id, closed_at__isnull=False)
        .values_list("summary", flat=True)
        .first()
    )
