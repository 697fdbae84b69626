"""Outbox writes: the relay's turns."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.utils import timezone

from .models import Event


def relay_backoff_seconds(attempts: int) -> float:
    """How long an event relayed `attempts` times waits before its next turn: the grace
    period, doubled per relay, capped (OUTBOX_RELAY_BACKOFF_MAX_SECONDS)."""
    return min(
        settings.OUTBOX_RELAY_BACKOFF_MAX_SECONDS,
        settings.OUTBOX_RELAY_GRACE_SECONDS * 2 ** max(0, attempts - 1),
    )


def events_relay_schedule(*, event_ids: list[int]) -> int:
    """Count a relay of each event and push its next turn back by its backoff. One
    statement: the attempt count decides each row's wait, so the backoff steps are
    listed up to the cap."""
    if not event_ids:
        return 0
    now = timezone.now()
    steps = []
    for attempts in range(1, 32):
        wait = relay_backoff_seconds(attempts)
        steps.append(When(relay_attempts=attempts - 1, then=Value(now + timedelta(seconds=wait))))
        if wait >= settings.OUTBOX_RELAY_BACKOFF_MAX_SECONDS:
            break
    capped = Value(now + timedelta(seconds=settings.OUTBOX_RELAY_BACKOFF_MAX_SECONDS))
    return Event.objects.filter(pk__in=event_ids).update(
        relay_attempts=F("relay_attempts") + 1, relay_next_at=Case(*steps, default=capped)
    )
