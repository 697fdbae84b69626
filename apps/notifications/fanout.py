"""Fan-out: one event → one inbox item per subscriber and one pending delivery per
(item, external channel), in set-based SQL.

Subscribers are walked in user id order in keyset-paged chunks. Each chunk is one
transaction that inserts with `INSERT … SELECT … ON CONFLICT DO NOTHING` and moves the
event's cursor, so Python never holds recipients, a re-run skips what is committed,
and a re-run of an uncommitted chunk inserts nothing twice.

The fan-out returns what it made, a chunk at a time once each has committed
(event_fan_out_chunks); its task (tasks.py) hands each chunk's deliveries to dispatch.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import Profile
from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.events.models import Event, FanoutState
from apps.subscriptions.models import Subscription
from apps.subscriptions.policy import delivery_policy, muted_history_detail

from .models import DirectSend, DirectSendRecipient, SendStatus, UserNotification
from .rendering import inbox_content, inbox_content_by_locale
from .signals import fan_out_chunk_committed

logger = logging.getLogger(__name__)

SUBSCRIPTIONS = Subscription._meta.db_table
NOTIFICATIONS = UserNotification._meta.db_table
DELIVERIES = Delivery._meta.db_table
DELIVERY_EVENTS = DeliveryEvent._meta.db_table
PROFILES = Profile._meta.db_table

# The subscriptions an event reaches: enabled (or any, for a critical event type: it
# passes opt-outs), of its type, for any subject or its own.
MATCH = """
    s.event_type_id = %(event_type_id)s AND (s.enabled OR %(critical)s)
    AND (s.subject_type = '' OR (s.subject_type = %(subject_type)s AND s.subject_id = %(subject_id)s))
    AND s.user_id > %(after)s
"""
# Bounds a chunk; the chunk's end is None for the last one.
UPTO = "AND (%(upto)s IS NULL OR s.user_id <= %(upto)s)"

CHUNK_END_SQL = f"""
    SELECT s.user_id FROM {SUBSCRIPTIONS} s
    WHERE {MATCH}
    ORDER BY s.user_id LIMIT 1 OFFSET %(offset)s
"""

INSERT_NOTIFICATIONS_SQL = f"""
    INSERT INTO {NOTIFICATIONS} (event_id, user_id, title, body, data, url, in_inbox, created_at)
    SELECT %(event_id)s, s.user_id, %(title)s, %(body)s, NULL, %(url)s,
           MAX(CASE WHEN s.channel = '{Channel.IN_APP}' THEN 1 ELSE 0 END) = 1, %(now)s
    FROM {SUBSCRIPTIONS} s
    WHERE {MATCH} {UPTO}
    GROUP BY s.user_id
    ON CONFLICT (event_id, user_id) DO NOTHING
"""

# Status, last error and not_before come from the person's preferences
# (apps.subscriptions.policy): a delivery is born muted, held or pending.
INSERT_DELIVERIES_SQL = f"""
    INSERT INTO {DELIVERIES}
        (notification_id, channel, status, attempts, last_error, provider_message_id, created_at, updated_at,
         not_before)
    SELECT DISTINCT n.id, s.channel, {{status}}, 0, {{last_error}}, '', %(now)s, %(now)s, {{not_before}}
    FROM {SUBSCRIPTIONS} s
    JOIN {NOTIFICATIONS} n ON n.event_id = %(event_id)s AND n.user_id = s.user_id
    {{joins}}
    WHERE {MATCH} {UPTO} AND s.channel <> '{Channel.IN_APP}'
    ON CONFLICT (notification_id, channel) DO NOTHING
"""
# The history of deliveries born cancelled (muted). PostgreSQL takes them from the
# INSERT's own RETURNING; elsewhere from the chunk's rows.
MUTED = f"d.status = '{DeliveryStatus.CANCELLED}' AND d.last_error = 'muted'"
MUTED_HISTORY_SQL = f"""
    INSERT INTO {DELIVERY_EVENTS} (delivery_id, status, detail, at)
    SELECT d.id, d.status, %(muted_detail)s, %(now)s FROM {{source}} d
    WHERE {MUTED}
"""


def _insert_deliveries(cursor, params: dict, policy) -> tuple[int | None, dict[str, int]]:
    """Insert a chunk's deliveries; returns how many (None when not known: the
    PostgreSQL statement also writes the muted ones' history) and how many were born
    muted, by channel (their history rows are written here, not through
    delivery_history_record, so the transition metrics are told separately)."""
    insert = INSERT_DELIVERIES_SQL.format(
        status=policy.status, last_error=policy.last_error, not_before=policy.not_before, joins=policy.joins
    )
    params = {**params, **policy.params, "muted_detail": muted_history_detail()}
    if not policy.joins:  # critical: nobody is muted
        cursor.execute(insert, params)
        return max(cursor.rowcount, 0), {}
    if connection.vendor == "postgresql":
        cursor.execute(
            f"WITH d AS ({insert} RETURNING id, status, last_error, channel), "
            f"h AS ({MUTED_HISTORY_SQL.format(source='d')}) "
            f"SELECT d.channel, count(*) FROM d WHERE {MUTED} GROUP BY d.channel",
            params,
        )
        return None, dict(cursor.fetchall())
    cursor.execute(insert, params)
    inserted = max(cursor.rowcount, 0)
    chunk = (
        f"(SELECT x.* FROM {DELIVERIES} x JOIN {NOTIFICATIONS} n ON n.id = x.notification_id"
        " WHERE n.event_id = %(event_id)s AND n.user_id > %(after)s"
        " AND (%(upto)s IS NULL OR n.user_id <= %(upto)s))"
    )
    cursor.execute(MUTED_HISTORY_SQL.format(source=chunk), params)
    cursor.execute(f"SELECT d.channel, count(*) FROM {chunk} d WHERE {MUTED} GROUP BY d.channel", params)
    return inserted, dict(cursor.fetchall())


@dataclass(frozen=True)
class Audience:
    """Who an event reaches, as three statements over one keyset-paged user id order:
    the end of the next chunk, the inbox items and the deliveries of a chunk."""

    chunk_end_sql: str
    notifications_sql: str
    deliveries_sql: str | None
    params: dict = field(default_factory=dict)
    # Subscribers' deliveries follow their preferences; a direct send's go as asked.
    applies_preferences: bool = False


# An event's subscribers (the publish path).
SUBSCRIBERS = Audience(CHUNK_END_SQL, INSERT_NOTIFICATIONS_SQL, INSERT_DELIVERIES_SQL, applies_preferences=True)


HAS_EXTERNAL_SQL = f"""
    SELECT 1 FROM {SUBSCRIPTIONS} s
    WHERE s.event_type_id = %(event_type_id)s AND (s.enabled OR %(critical)s) AND s.channel <> '{Channel.IN_APP}'
    LIMIT 1
"""


def _has_external_subscribers(event) -> bool:
    """Whether any delivery can come of this event: when none, each chunk skips the
    deliveries statement (a join over the whole chunk) altogether."""
    with connection.cursor() as cursor:
        cursor.execute(HAS_EXTERNAL_SQL, {"event_type_id": event.event_type_id, "critical": event.event_type.critical})
        return cursor.fetchone() is not None


# The chunk's items of people whose locale is (or, for a language, starts with) the
# variant's: they get the variant's title and body instead of the default locale's.
# The profiles are bounded to the chunk too: the locale test cannot use an index, the
# user id can (else every chunk reads every profile).
LOCALISE_SQL = f"""
    UPDATE {NOTIFICATIONS} SET title = %(title)s, body = %(body)s
    WHERE event_id = %(event_id)s AND user_id > %(after)s AND (%(upto)s IS NULL OR user_id <= %(upto)s)
    AND user_id IN (
        SELECT p.user_id FROM {PROFILES} p
        WHERE p.user_id > %(after)s AND (%(upto)s IS NULL OR p.user_id <= %(upto)s)
        AND (LOWER(REPLACE(p.locale, '_', '-')) = %(locale)s OR LOWER(REPLACE(p.locale, '_', '-')) LIKE %(prefix)s)
    )
"""


def _localise_chunk(params: dict, variants) -> None:
    with connection.cursor() as cursor:
        for locale, title, body in variants:
            lowered = locale.lower()
            # A language ("pt") covers its regions ("pt-PT"); a region only itself.
            prefix = lowered if "-" in lowered else f"{lowered}-%"
            cursor.execute(LOCALISE_SQL, {**params, "locale": lowered, "prefix": prefix, "title": title, "body": body})


def _chunk_end(audience: Audience, params: dict, chunk_size: int) -> int | None:
    """The last user id of the next chunk, or None when the rest fits in one."""
    with connection.cursor() as cursor:
        cursor.execute(audience.chunk_end_sql, {**params, "offset": chunk_size - 1})
        row = cursor.fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class FanOutChunk:
    """One committed chunk: its user id bounds (upto None: to the end), what it made,
    and the priority its deliveries travel at (its event's)."""

    event_id: int
    after_user_id: int
    upto_user_id: int | None
    notifications_created: int
    # None when not known (PostgreSQL's muted-history statement): there may be some.
    deliveries_created: int | None
    priority: str


def _fan_out_chunk(
    event_id: int,
    content: tuple[str, str, str],
    chunk_size: int,
    audience: Audience = SUBSCRIBERS,
    critical: bool = False,
    variants=(),
) -> FanOutChunk | None:
    """Fan out the next chunk in one transaction. Returns the chunk, or None when the
    event is already done (or was cancelled)."""
    with transaction.atomic():
        # The row lock serialises concurrent runs of the same event (redelivery, relay).
        event = Event.objects.select_for_update().get(pk=event_id)
        if event.fanout_state == FanoutState.DONE:
            return None
        if connection.vendor == "postgresql":
            # Safe here: a chunk lost in a crash loses its cursor move with it, and
            # the re-run inserts it again.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        title, body, url = content
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        params = {
            "event_id": event.pk,
            "event_type_id": event.event_type_id,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "after": event.fanout_cursor,
            "upto": None,
            "critical": critical,
            "title": title,
            "body": body,
            "url": url,
            "now": now,
            **audience.params,
        }
        params["upto"] = _chunk_end(audience, params, chunk_size)
        with connection.cursor() as cursor:
            cursor.execute(audience.notifications_sql, params)
            inserted = max(cursor.rowcount, 0)
            deliveries, muted = 0, {}
            if audience.applies_preferences and audience.deliveries_sql:
                # Opt-outs, mutes, digests and quiet hours are decided in the INSERT itself.
                policy = delivery_policy(
                    where_sql=f"{MATCH} {UPTO}", params=params, critical=critical, now=timezone.now()
                )
                deliveries, muted = _insert_deliveries(cursor, params, policy)
            elif audience.deliveries_sql:
                cursor.execute(audience.deliveries_sql, params)
                deliveries = max(cursor.rowcount, 0)
        _localise_chunk(params, variants)
        finished = params["upto"] is None
        Event.objects.filter(pk=event.pk).update(
            fanout_state=FanoutState.DONE if finished else FanoutState.RUNNING,
            fanout_cursor=params["upto"] if not finished else event.fanout_cursor,
            fanout_heartbeat_at=timezone.now(),
            fanned_out_at=timezone.now() if finished else None,
            recipient_count=event.recipient_count + inserted,
        )
        chunk = FanOutChunk(event_id, event.fanout_cursor, params["upto"], inserted, deliveries, event.priority)
        # For observers only (metrics, the live inbox): dispatch is handed the chunk by
        # the fan-out task.
        transaction.on_commit(
            lambda: fan_out_chunk_committed.send(
                sender=UserNotification,
                event_id=event_id,
                after_user_id=chunk.after_user_id,
                upto_user_id=chunk.upto_user_id,
                notifications_created=inserted,
                deliveries_created=deliveries,
                deliveries_muted=muted,
                priority=chunk.priority,
            )
        )
    return chunk


def event_fan_out_chunks(*, event_id: int, chunk_size: int | None = None) -> Iterator[FanOutChunk]:
    """Fan an event out to its audience (its subscribers, or a direct send's
    recipients), yielding each chunk once it has committed."""
    chunk_size = chunk_size or settings.FANOUT_CHUNK_SIZE
    event = Event.objects.select_related("event_type", "actor").filter(pk=event_id).first()
    if event is None or event.fanout_state == FanoutState.DONE:
        return
    send = DirectSend.objects.filter(event_id=event_id).first()
    if send is not None and send.status != SendStatus.QUEUED:
        return  # scheduled for later (beat releases it) or cancelled
    if send is not None:
        audience = recipients_audience(send)
    elif _has_external_subscribers(event):
        audience = SUBSCRIBERS
    else:
        audience = replace(SUBSCRIBERS, deliveries_sql=None)
    content, variants = inbox_content(event), inbox_content_by_locale(event)
    total = 0
    while True:
        chunk = _fan_out_chunk(
            event_id, content, chunk_size, audience, critical=event.event_type.critical, variants=variants
        )
        if chunk is None:
            break
        total += chunk.notifications_created
        yield chunk
        if chunk.upto_user_id is None:
            break
    logger.info("event %s fanned out: %d new inbox items", event_id, total)


def event_fan_out(*, event_id: int, chunk_size: int | None = None) -> int:
    """Fan an event out without handing its deliveries on (tests, benchmarks: the task
    is what hands them to dispatch); returns how many items this run added."""
    return sum(chunk.notifications_created for chunk in event_fan_out_chunks(event_id=event_id, chunk_size=chunk_size))


# --- Explicit audience: a direct send's recipient rows --------------------------------
RECIPIENTS = DirectSendRecipient._meta.db_table
RECIPIENT_MATCH = "r.send_id = %(send_id)s AND r.user_id > %(after)s"
RECIPIENT_UPTO = "AND (%(upto)s IS NULL OR r.user_id <= %(upto)s)"

RECIPIENTS_CHUNK_END_SQL = f"""
    SELECT r.user_id FROM {RECIPIENTS} r
    WHERE {RECIPIENT_MATCH}
    ORDER BY r.user_id LIMIT 1 OFFSET %(offset)s
"""

# Requested channels: exactly those, for every recipient.
RECIPIENTS_NOTIFICATIONS_SQL = f"""
    INSERT INTO {NOTIFICATIONS} (event_id, user_id, title, body, data, url, in_inbox, created_at)
    SELECT %(event_id)s, r.user_id, %(title)s, %(body)s, NULL, %(url)s, %(in_app)s, %(now)s
    FROM {RECIPIENTS} r
    WHERE {RECIPIENT_MATCH} {RECIPIENT_UPTO}
    ON CONFLICT (event_id, user_id) DO NOTHING
"""

# No channels requested: each recipient's enabled subscriptions to the event type.
RECIPIENT_SUBSCRIPTIONS = f"""
    JOIN {SUBSCRIPTIONS} s ON s.user_id = r.user_id AND s.event_type_id = %(event_type_id)s
        AND s.enabled AND s.subject_type = ''
"""

SUBSCRIBED_RECIPIENTS_NOTIFICATIONS_SQL = f"""
    INSERT INTO {NOTIFICATIONS} (event_id, user_id, title, body, data, url, in_inbox, created_at)
    SELECT %(event_id)s, r.user_id, %(title)s, %(body)s, NULL, %(url)s,
           MAX(CASE WHEN s.channel = '{Channel.IN_APP}' THEN 1 ELSE 0 END) = 1, %(now)s
    FROM {RECIPIENTS} r {RECIPIENT_SUBSCRIPTIONS}
    WHERE {RECIPIENT_MATCH} {RECIPIENT_UPTO}
    GROUP BY r.user_id
    ON CONFLICT (event_id, user_id) DO NOTHING
"""

SUBSCRIBED_RECIPIENTS_DELIVERIES_SQL = f"""
    INSERT INTO {DELIVERIES}
        (notification_id, channel, status, attempts, last_error, provider_message_id, created_at, updated_at)
    SELECT DISTINCT n.id, s.channel, '{DeliveryStatus.PENDING}', 0, '', '', %(now)s, %(now)s
    FROM {RECIPIENTS} r {RECIPIENT_SUBSCRIPTIONS}
    JOIN {NOTIFICATIONS} n ON n.event_id = %(event_id)s AND n.user_id = r.user_id
    WHERE {RECIPIENT_MATCH} {RECIPIENT_UPTO} AND s.channel <> '{Channel.IN_APP}'
    ON CONFLICT (notification_id, channel) DO NOTHING
"""


def _requested_deliveries_sql(channels: list[str]) -> str:
    # The channels become a derived table of bound parameters (%(channel_0)s, ...).
    rows = " UNION ALL ".join(f"SELECT %(channel_{i})s AS channel" for i in range(len(channels)))
    return f"""
        INSERT INTO {DELIVERIES}
            (notification_id, channel, status, attempts, last_error, provider_message_id, created_at, updated_at)
        SELECT n.id, c.channel, '{DeliveryStatus.PENDING}', 0, '', '', %(now)s, %(now)s
        FROM {RECIPIENTS} r
        JOIN {NOTIFICATIONS} n ON n.event_id = %(event_id)s AND n.user_id = r.user_id
        CROSS JOIN ({rows}) c
        WHERE {RECIPIENT_MATCH} {RECIPIENT_UPTO}
        ON CONFLICT (notification_id, channel) DO NOTHING
    """


def recipients_audience(send: DirectSend) -> Audience:
    """The audience of a direct send: its recipient rows, on the requested channels or
    (none requested) on each recipient's subscribed ones."""
    params = {"send_id": send.pk}
    if send.channels is None:
        return Audience(
            RECIPIENTS_CHUNK_END_SQL,
            SUBSCRIBED_RECIPIENTS_NOTIFICATIONS_SQL,
            SUBSCRIBED_RECIPIENTS_DELIVERIES_SQL,
            params,
        )
    external = [c for c in send.channels if c != Channel.IN_APP]
    params["in_app"] = Channel.IN_APP in send.channels
    params.update({f"channel_{i}": channel for i, channel in enumerate(external)})
    return Audience(
        RECIPIENTS_CHUNK_END_SQL,
        RECIPIENTS_NOTIFICATIONS_SQL,
        _requested_deliveries_sql(external) if external else None,
        params,
    )
