from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import Event, EventType, FanoutState


def event_type_list():
    return EventType.objects.order_by("key")


def event_fanout_overdue(*, limit: int = 500) -> dict[str, list[int]]:
    """Events committed but not fanned out, whose fan-out made no progress lately:
    {priority: [event ids]}, oldest first."""
    cutoff = timezone.now() - timedelta(seconds=settings.OUTBOX_RELAY_GRACE_SECONDS)
    stale = Q(fanout_heartbeat_at__lt=cutoff) | Q(fanout_heartbeat_at__isnull=True, created_at__lt=cutoff)
    rows = (
        Event.objects.exclude(fanout_state=FanoutState.DONE)
        .filter(stale)
        # A direct send for later is not late: beat releases it when it is due.
        .exclude(direct_send__status="scheduled")
        .order_by("created_at")
        .values_list("id", "priority")[:limit]
    )
    by_priority: dict[str, list[int]] = {}
    for event_id, priority in rows:
        by_priority.setdefault(priority, []).append(event_id)
    return by_priority
