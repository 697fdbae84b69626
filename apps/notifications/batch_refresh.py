"""The words of open batching windows' inbox items, kept up with the events joining.

The fan-out only counts an event into its windows (batching.py); this rewrites the
items whose count moved on since their words were written ("2 new comments" → "7 new
comments on Checkout flow", the list below), once per distinct window (first event,
last event, count) rather than per person, and tells the live inbox. Beat runs it
before each close (every BATCH_CLOSE_INTERVAL_SECONDS): a burst of events costs one
rewrite per run, however many events it brought.

Windows are row-locked with SKIP LOCKED: one a fan-out is joining right now is
skipped (the next run takes it, with that event counted), so the refresh never waits
on a fan-out and never deadlocks with one. Each rewrite names the count it wrote, so
an event that joins between the read and the write leaves the window behind for the
next run rather than marked up to date.
"""

from django.db import transaction
from django.db.models import F

from apps.events.models import Event, EventBatch, EventType

from .batch_content import batch_inbox_content, batch_summary
from .models import UserNotification
from .signals import batch_items_updated

WINDOW_FIELDS = ("event_type_id", "batch_key", "first_event_id", "last_event_id", "count")


def _lagging():
    return EventBatch.objects.filter(closed_at__isnull=True, count__gt=1).exclude(shown_count=F("count"))


def batches_refresh() -> int:
    """Rewrite the words of every open window whose item lags behind its count;
    returns how many items were rewritten."""
    rewritten = 0
    windows = list(_lagging().values_list(*WINDOW_FIELDS).distinct())
    types = EventType.objects.in_bulk({w[0] for w in windows})
    last_events = Event.objects.select_related("event_type", "actor").in_bulk({w[3] for w in windows})
    for type_id, batch_key, first, last, count in windows:
        summary = batch_summary(
            event_type=types[type_id], batch_key=batch_key, first_event_id=first, last_event_id=last, count=count
        )
        title, body = batch_inbox_content(event_type=types[type_id], last_event=last_events[last], summary=summary)
        same = {"event_type_id": type_id, "batch_key": batch_key, "first_event_id": first, "last_event_id": last}
        with transaction.atomic():
            locked = list(
                _lagging()
                .filter(**same, count=count)
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", "notification_id")
            )
            if not locked:
                continue
            # New activity makes the item unread again.
            UserNotification.objects.filter(pk__in=[n for _, n in locked if n]).update(
                title=title, body=body, read_at=None
            )
            EventBatch.objects.filter(pk__in=[pk for pk, _ in locked]).update(shown_count=count)
            # For observers only (the live inbox shows the items' new words).
            transaction.on_commit(
                lambda type_id=type_id, batch_key=batch_key: batch_items_updated.send(
                    sender=UserNotification, event_type_id=type_id, batch_key=batch_key
                )
            )
        rewritten += len(locked)
    return rewritten
