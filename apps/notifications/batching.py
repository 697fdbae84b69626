"""Batching windows in the fan-out: a burst of one key's events becomes one inbox item
per person, and (when the window closes, batch_close.py) one message per channel.

An event type with `batch_window_seconds` batches its events by key (the subject, or
the data field `batch_key`). For each chunk of subscribers the fan-out runs, instead
of its inbox and delivery INSERTs, the statements here, all set-based:

1. one upsert of the chunk's windows (EventBatch): a person without an open window of
   the key gets one (closing `batch_window_seconds` from now), a person with one has
   the event joined to it (count + 1, last event). The upsert is atomic against the
   close: a window being closed is row-locked, so the event waits and then either
   joins it (the close had skipped it) or, once it is closed, opens the next one;
   it is never lost between the two;
2. when it opened any (its RETURNING says), the inbox items of those windows, with
   this event's own words, and their link.

The words of the items of the windows it joined ("3 new comments on Checkout flow")
are not rewritten here, per event: beat's refresh (batch_refresh.py) rewrites them
every few seconds, once for all the events that joined since, so a burst costs one
rewrite per refresh rather than one per event. No delivery is written here either:
the close writes one per window and channel.
Critical event types and critical events are never batched.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from apps.common.channels import Channel
from apps.common.priorities import CRITICAL
from apps.events.models import Event, EventBatch
from apps.notifications.models import UserNotification
from apps.subscriptions.models import Subscription

BATCHES = EventBatch._meta.db_table
NOTIFICATIONS = UserNotification._meta.db_table
SUBSCRIPTIONS = Subscription._meta.db_table


@dataclass(frozen=True)
class BatchPlan:
    """How one event is batched: its key and the length of a window it opens."""

    batch_key: str
    window: timedelta


def event_batch_key(event) -> str:
    """The key an event of a batching type groups under: the value of its data field
    `batch_key`, else its subject. Never empty (an empty key means "not batched")."""
    field = event.event_type.batch_key
    data = event.data if isinstance(event.data, dict) else {}
    if field and data.get(field) not in (None, ""):
        return f"data:{data[field]}"[:200]
    return f"subject:{event.subject_type}:{event.subject_id}"[:200]


def event_batch_plan(event) -> BatchPlan | None:
    """The plan of a published event whose type batches, else None. Stores the key on
    the event, so a window can list the events it holds."""
    event_type = event.event_type
    if not event_type.batch_window_seconds or event_type.critical or event.priority == CRITICAL:
        return None
    key = event_batch_key(event)
    if event.batch_key != key:
        Event.objects.filter(pk=event.pk).update(batch_key=key)
        event.batch_key = key
    return BatchPlan(batch_key=key, window=timedelta(seconds=event_type.batch_window_seconds))


# A person's open window of the key (the partial unique index's columns).
OPEN_WINDOW = (
    "b.user_id = s.user_id AND b.event_type_id = %(event_type_id)s AND b.batch_key = %(batch_key)s"
    " AND b.closed_at IS NULL"
)


def _upsert_sql(where_sql: str) -> str:
    """Open a window (its item comes next) or join the open one. The conflict target
    is spelled as the partial index is, so SQLite matches it too."""
    return f"""
        INSERT INTO {BATCHES} (event_type_id, batch_key, user_id, notification_id, count, shown_count,
                               first_event_id, last_event_id, priority, opened_at, closes_at, closed_at, summary)
        SELECT %(event_type_id)s, %(batch_key)s, s.user_id, NULL, 1, 1, %(event_id)s, %(event_id)s,
               %(batch_priority)s, %(now)s, %(batch_closes_at)s, NULL, NULL
        FROM {SUBSCRIPTIONS} s
        WHERE {where_sql}
        GROUP BY s.user_id
        ON CONFLICT (event_type_id, batch_key, user_id) WHERE closed_at IS NULL DO UPDATE SET
            count = {BATCHES}.count + 1,
            first_event_id = CASE WHEN excluded.first_event_id < {BATCHES}.first_event_id
                             THEN excluded.first_event_id ELSE {BATCHES}.first_event_id END,
            last_event_id = CASE WHEN excluded.last_event_id > {BATCHES}.last_event_id
                            THEN excluded.last_event_id ELSE {BATCHES}.last_event_id END
    """


# The chunk's open windows of the key (the unique index's columns, then the user range).
CHUNK_BATCHES = (
    "b.event_type_id = %(event_type_id)s AND b.batch_key = %(batch_key)s AND b.closed_at IS NULL"
    " AND b.user_id > %(after)s AND (%(upto)s IS NULL OR b.user_id <= %(upto)s)"
)


def _opened_items_sql(where_sql: str) -> str:
    """Inbox items for the windows this event opened (no item yet): in the inbox when
    the person has it on in_app, as the fan-out's own items are."""
    return f"""
        INSERT INTO {NOTIFICATIONS} (event_id, user_id, title, body, data, url, in_inbox, created_at)
        SELECT %(event_id)s, s.user_id, %(title)s, %(body)s, NULL, %(url)s,
               MAX(CASE WHEN s.channel = '{Channel.IN_APP}' THEN 1 ELSE 0 END) = 1, %(now)s
        FROM {SUBSCRIPTIONS} s
        JOIN {BATCHES} b ON {OPEN_WINDOW} AND b.notification_id IS NULL
        WHERE {where_sql}
        GROUP BY s.user_id
        ON CONFLICT (event_id, user_id) DO NOTHING
    """


LINK_ITEMS_SQL = f"""
    UPDATE {BATCHES} SET notification_id = (
        SELECT n.id FROM {NOTIFICATIONS} n WHERE n.event_id = %(event_id)s AND n.user_id = {BATCHES}.user_id
    )
    WHERE id IN (SELECT b.id FROM {BATCHES} b WHERE {CHUNK_BATCHES} AND b.notification_id IS NULL)
"""


def batch_chunk_fan_out(cursor, *, event, plan: BatchPlan, params: dict, where_sql: str) -> int:
    """The chunk's windows (statements 1-2 above) over the subscriptions `where_sql`
    selects; returns how many inbox items it created."""
    params = {
        **params,
        "batch_key": plan.batch_key,
        "batch_priority": event.priority,
        "batch_closes_at": connection.ops.adapt_datetimefield_value(timezone.now() + plan.window),
    }
    upsert = _upsert_sql(where_sql)
    if connection.vendor == "postgresql":
        # Its RETURNING says whether it opened a window: when it only joined, the item
        # statements (a join over the whole chunk) are skipped.
        cursor.execute(
            f"WITH u AS ({upsert} RETURNING notification_id) SELECT count(*) FROM u WHERE notification_id IS NULL",
            params,
        )
        if not cursor.fetchone()[0]:
            return 0
    else:
        cursor.execute(upsert, params)
    cursor.execute(_opened_items_sql(where_sql), params)
    created = max(cursor.rowcount, 0)
    if created:
        cursor.execute(LINK_ITEMS_SQL, params)
    return created
