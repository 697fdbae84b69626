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
from apps.subscriptions.policy import Recipients, delivery_policy, policy_history_sql

from .batching import BatchPlan, batch_chunk_fan_out, event_batch_plan
from .destinations import destinations_fan_out
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
    WHERE {MATCH} {UPTO}
    ORDER BY s.user_id LIMIT 1 OFFSET %(offset)s
"""
# The audience's highest user id (range planning, fanout_ranges.py).
LAST_USER_SQL = f"""
    SELECT s.user_id FROM {SUBSCRIPTIONS} s
    WHERE {MATCH}
    ORDER BY s.user_id DESC LIMIT 1
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

# Status, last error and not_before come from the person's preferences and the
# suppression list (apps.subscriptions.policy): a delivery is born cancelled, held or
# pending. Every audience's statement has these four slots, filled by the one policy.
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
BORN_CANCELLED = f"d.status = '{DeliveryStatus.CANCELLED}'"
# A chunk's deliveries, for databases whose INSERT cannot return its rows.
CHUNK_DELIVERIES = (
    f"(SELECT x.* FROM {DELIVERIES} x JOIN {NOTIFICATIONS} n ON n.id = x.notification_id"
    " WHERE n.event_id = %(event_id)s AND n.user_id > %(after)s"
    " AND (%(upto)s IS NULL OR n.user_id <= %(upto)s))"
)


def _insert_deliveries(
    cursor, sql: str, params: dict, policy, chunk_source: str = CHUNK_DELIVERIES
) -> tuple[int | None, dict[str, int]]:
    """Insert deliveries with `sql` (its slots filled by `policy`); returns how many
    (None when not known: the PostgreSQL statement also writes the history) and how
    many were born cancelled, by channel. The history of the cancelled and held ones is
    written here, not through delivery_history_record, so the transition metrics are
    told separately."""
    insert = sql.format(
        status=policy.status, last_error=policy.last_error, not_before=policy.not_before, joins=policy.joins
    )
    params = {**params, **policy.params}
    for statement, statement_params in policy.before:  # the throttle counters
        cursor.execute(statement, {**params, **statement_params})
    if not policy.joins:  # critical: nobody is muted
        cursor.execute(insert, params)
        return max(cursor.rowcount, 0), {}
    if connection.vendor == "postgresql":
        history, history_params = policy_history_sql(source="d")
        cursor.execute(
            f"WITH d AS ({insert} RETURNING id, status, last_error, channel, not_before), "
            f"h AS ({history}) "
            f"SELECT d.channel, count(*) FROM d WHERE {BORN_CANCELLED} GROUP BY d.channel",
            {**params, **history_params},
        )
        return None, dict(cursor.fetchall())
    cursor.execute(insert, params)
    inserted = max(cursor.rowcount, 0)
    history, history_params = policy_history_sql(source=chunk_source)
    cursor.execute(history, {**params, **history_params})
    cursor.execute(
        f"SELECT d.channel, count(*) FROM {chunk_source} d WHERE {BORN_CANCELLED} GROUP BY d.channel", params
    )
    return inserted, dict(cursor.fetchall())


@dataclass(frozen=True)
class Audience:
    """Who an event reaches, as statements over one keyset-paged user id order: the
    end of the next chunk, the inbox items and the deliveries of a chunk, and the last
    user id (to plan ranges)."""

    chunk_end_sql: str
    last_user_sql: str
    notifications_sql: str
    # With the policy's slots ({status}, {last_error}, {not_before}, {joins}).
    deliveries_sql: str | None
    # The rows the policy decides over: every audience's deliveries follow the same
    # preferences, opt-outs and suppression list (apps.subscriptions.policy).
    recipients: Recipients | None = None
    params: dict = field(default_factory=dict)
    # A direct send's address recipients (no user): written with the first chunk.
    addresses: bool = False
    # Operators' chat destinations of the event type (destinations.py): with the first chunk.
    destinations: bool = False
    # A batching event type's subscribers: windows instead of items and deliveries
    # (batching.py); None for every other event.
    batch: BatchPlan | None = None


# An event's subscribers (the publish path).
SUBSCRIBERS = Audience(
    CHUNK_END_SQL,
    LAST_USER_SQL,
    INSERT_NOTIFICATIONS_SQL,
    INSERT_DELIVERIES_SQL,
    Recipients(from_sql=f"{SUBSCRIPTIONS} s", where_sql=f"{MATCH} {UPTO}"),
    destinations=True,
)


HAS_EXTERNAL_SQL = f"""
    SELECT 1 FROM {SUBSCRIPTIONS} s
    WHERE s.event_type_id = %(event_type_id)s AND (s.enabled OR %(critical)s) AND s.channel <> '{Channel.IN_APP}'
    AND s.user_id > %(after)s {UPTO}
    LIMIT 1
"""


def _has_external_subscribers(event, after: int, upto: int | None) -> bool:
    """Whether any delivery can come of this event between these user ids: when none,
    each chunk skips the deliveries statement (a join over the whole chunk) altogether.
    Bounded by the place: over a whole large audience of in-app subscriptions the scan
    finds nothing after reading every row, once per range."""
    params = {"event_type_id": event.event_type_id, "critical": event.event_type.critical, "after": after, "upto": upto}
    with connection.cursor() as cursor:
        cursor.execute(HAS_EXTERNAL_SQL, params)
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


class EventPlace:
    """Where a one-task fan-out resumes: the event row's cursor. Locking the row
    serialises concurrent runs of the same event (redelivery, relay). A range's place
    (fanout_ranges.py) claims and advances its own row instead."""

    # The user ids the fan-out runs after and up to (None: the end of the audience).
    start: int = 0
    end: int | None = None

    def __init__(self, event_id: int):
        self.event_id = event_id

    def claim(self) -> tuple[Event, int] | None:
        """Lock the place; returns the event and the user id to resume after, or None
        when there is nothing left to do."""
        event = Event.objects.select_for_update().get(pk=self.event_id)
        if event.fanout_state == FanoutState.DONE:
            return None
        return event, event.fanout_cursor

    def advance(self, event: Event, upto: int | None, inserted: int) -> None:
        """Record a chunk that ends at `upto`, in the chunk's transaction."""
        finished = upto == self.end
        Event.objects.filter(pk=event.pk).update(
            fanout_state=FanoutState.DONE if finished else FanoutState.RUNNING,
            fanout_cursor=upto if not finished else event.fanout_cursor,
            fanout_heartbeat_at=timezone.now(),
            fanned_out_at=timezone.now() if finished else None,
            recipient_count=event.recipient_count + inserted,
        )


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
    place: EventPlace | None = None,
) -> FanOutChunk | None:
    """Fan out the next chunk of `place` (the event's, by default) in one transaction.
    Returns the chunk, or None when it is already done (or was cancelled)."""
    place = place or EventPlace(event_id)
    with transaction.atomic():
        claimed = place.claim()
        if claimed is None:
            return None
        event, after = claimed
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
            "after": after,
            "upto": place.end,  # the next chunk's end is looked for inside the place
            "critical": critical,
            "title": title,
            "body": body,
            "url": url,
            "now": now,
            **audience.params,
        }
        end = _chunk_end(audience, params, chunk_size)
        params["upto"] = place.end if end is None else end
        with connection.cursor() as cursor:
            deliveries, muted = 0, {}
            if audience.batch:
                inserted = batch_chunk_fan_out(
                    cursor, event=event, plan=audience.batch, params=params, where_sql=f"{MATCH} {UPTO}"
                )
            else:
                cursor.execute(audience.notifications_sql, params)
                inserted = max(cursor.rowcount, 0)
            if audience.deliveries_sql:
                # Opt-outs, mutes, suppressions, digests and quiet hours are decided in
                # the INSERT itself.
                policy = delivery_policy(
                    recipients=audience.recipients, params=params, critical=critical, now=timezone.now()
                )
                deliveries, muted = _insert_deliveries(cursor, audience.deliveries_sql, params, policy)
            if audience.addresses and after == 0:
                added, added_deliveries, added_muted = _fan_out_addresses(cursor, params, critical)
                inserted += added
                deliveries = None if deliveries is None or added_deliveries is None else deliveries + added_deliveries
                for channel, count in added_muted.items():
                    muted[channel] = muted.get(channel, 0) + count
            if audience.destinations and after == 0:
                added, added_deliveries = destinations_fan_out(cursor, params)
                inserted += added
                deliveries = None if deliveries is None else deliveries + added_deliveries
        _localise_chunk(params, variants)
        place.advance(event, params["upto"], inserted)
        chunk = FanOutChunk(event_id, after, params["upto"], inserted, deliveries, event.priority)
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


def event_audience(event: Event) -> Audience | None:
    """Who `event` reaches (its subscribers, or a direct send's recipients), or None
    when it is not to be fanned out now."""
    if event.fanout_state == FanoutState.DONE:
        return None
    send = DirectSend.objects.filter(event_id=event.pk).first()
    if send is not None and send.status != SendStatus.QUEUED:
        return None  # scheduled for later (beat releases it) or cancelled
    if send is not None:
        return recipients_audience(send)
    if plan := event_batch_plan(event):
        # Batched: open or join each person's window instead of items and deliveries.
        return replace(SUBSCRIBERS, deliveries_sql=None, batch=plan)
    return SUBSCRIBERS


def place_fan_out_chunks(event: Event, audience: Audience, place: EventPlace, chunk_size: int) -> Iterator[FanOutChunk]:
    """Fan out `place` (an event, or one range of it) chunk by chunk, yielding each
    chunk once it has committed."""
    if audience is SUBSCRIBERS and not _has_external_subscribers(event, place.start, place.end):
        audience = replace(SUBSCRIBERS, deliveries_sql=None)
    content, variants = inbox_content(event), inbox_content_by_locale(event)
    while True:
        chunk = _fan_out_chunk(
            event.pk, content, chunk_size, audience, critical=event.event_type.critical, variants=variants, place=place
        )
        if chunk is None:
            return
        yield chunk
        if chunk.upto_user_id == place.end:
            return


def event_fan_out_chunks(*, event_id: int, chunk_size: int | None = None) -> Iterator[FanOutChunk]:
    """Fan an event out to its audience in one task, yielding each chunk once it has
    committed."""
    event = Event.objects.select_related("event_type", "actor").filter(pk=event_id).first()
    audience = event_audience(event) if event is not None else None
    if audience is None:
        return
    total = 0
    for chunk in place_fan_out_chunks(event, audience, EventPlace(event_id), chunk_size or settings.FANOUT_CHUNK_SIZE):
        total += chunk.notifications_created
        yield chunk
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
    WHERE {RECIPIENT_MATCH} {RECIPIENT_UPTO}
    ORDER BY r.user_id LIMIT 1 OFFSET %(offset)s
"""
RECIPIENTS_LAST_USER_SQL = f"""
    SELECT r.user_id FROM {RECIPIENTS} r
    WHERE {RECIPIENT_MATCH}
    ORDER BY r.user_id DESC LIMIT 1
"""

# A person who turned the event type off in the inbox gets no inbox item from a
# direct send either, unless the type is critical (like the fan-out's MATCH).
IN_APP_OPTED_OUT = f"""EXISTS (
    SELECT 1 FROM {SUBSCRIPTIONS} o WHERE o.user_id = r.user_id AND o.event_type_id = %(event_type_id)s
    AND o.channel = '{Channel.IN_APP}' AND o.subject_type = '' AND o.subject_id = '' AND NOT o.enabled
)"""

# Requested channels: exactly those, for every recipient.
RECIPIENTS_NOTIFICATIONS_SQL = f"""
    INSERT INTO {NOTIFICATIONS} (event_id, user_id, title, body, data, url, in_inbox, created_at)
    SELECT %(event_id)s, r.user_id, %(title)s, %(body)s, NULL, %(url)s,
           %(in_app)s AND (%(critical)s OR NOT {IN_APP_OPTED_OUT}), %(now)s
    FROM {RECIPIENTS} r
    WHERE {RECIPIENT_MATCH} {RECIPIENT_UPTO}
    ON CONFLICT (event_id, user_id) DO NOTHING
"""

# No channels requested: each recipient's subscriptions to the event type decide. The
# turned-off ones are read too: the send names these people, so their opted-out
# channels are born cancelled with the reason (the policy's opt-out lookup), where a
# fan-out, which names nobody, reaches none of them. In the inbox only when in_app is
# on (or the type is critical: it passes opt-outs).
RECIPIENT_SUBSCRIPTIONS = f"""
    JOIN {SUBSCRIPTIONS} s ON s.user_id = r.user_id AND s.event_type_id = %(event_type_id)s
        AND s.subject_type = '' AND s.subject_id = ''
"""

SUBSCRIBED_RECIPIENTS_NOTIFICATIONS_SQL = f"""
    INSERT INTO {NOTIFICATIONS} (event_id, user_id, title, body, data, url, in_inbox, created_at)
    SELECT %(event_id)s, r.user_id, %(title)s, %(body)s, NULL, %(url)s,
           MAX(CASE WHEN s.channel = '{Channel.IN_APP}' AND (s.enabled OR %(critical)s) THEN 1 ELSE 0 END) = 1,
           %(now)s
    FROM {RECIPIENTS} r {RECIPIENT_SUBSCRIPTIONS}
    WHERE {RECIPIENT_MATCH} {RECIPIENT_UPTO}
    GROUP BY r.user_id
    ON CONFLICT (event_id, user_id) DO NOTHING
"""

SUBSCRIBED_RECIPIENTS_DELIVERIES_SQL = f"""
    INSERT INTO {DELIVERIES}
        (notification_id, channel, status, attempts, last_error, provider_message_id, created_at, updated_at,
         not_before)
    SELECT DISTINCT n.id, s.channel, {{status}}, 0, {{last_error}}, '', %(now)s, %(now)s, {{not_before}}
    FROM {RECIPIENTS} r {RECIPIENT_SUBSCRIPTIONS}
    JOIN {NOTIFICATIONS} n ON n.event_id = %(event_id)s AND n.user_id = r.user_id
    {{joins}}
    WHERE {RECIPIENT_MATCH} {RECIPIENT_UPTO} AND s.channel <> '{Channel.IN_APP}'
    ON CONFLICT (notification_id, channel) DO NOTHING
"""
SUBSCRIBED_RECIPIENTS = Recipients(
    from_sql=f"{RECIPIENTS} r {RECIPIENT_SUBSCRIPTIONS}",
    where_sql=f"{RECIPIENT_MATCH} {RECIPIENT_UPTO}",
    user="r.user_id",
    channel="s.channel",
    opt_outs=True,
)


def _channel_rows(channels: list[str]) -> str:
    # The channels become a derived table of bound parameters (%(channel_0)s, ...).
    return " UNION ALL ".join(f"SELECT %(channel_{i})s AS channel" for i in range(len(channels)))


def _requested_deliveries_sql(channels: list[str]) -> str:
    return f"""
        INSERT INTO {DELIVERIES}
            (notification_id, channel, status, attempts, last_error, provider_message_id, created_at, updated_at,
             not_before)
        SELECT n.id, c.channel, {{status}}, 0, {{last_error}}, '', %(now)s, %(now)s, {{not_before}}
        FROM {RECIPIENTS} r
        CROSS JOIN ({_channel_rows(channels)}) c
        JOIN {NOTIFICATIONS} n ON n.event_id = %(event_id)s AND n.user_id = r.user_id
        {{joins}}
        WHERE {RECIPIENT_MATCH} {RECIPIENT_UPTO}
        ON CONFLICT (notification_id, channel) DO NOTHING
    """


def _requested_recipients(channels: list[str]) -> Recipients:
    # The send names the channels, so a turned-off subscription must be looked up.
    return Recipients(
        from_sql=f"{RECIPIENTS} r CROSS JOIN ({_channel_rows(channels)}) c",
        where_sql=f"{RECIPIENT_MATCH} {RECIPIENT_UPTO}",
        user="r.user_id",
        channel="c.channel",
        opt_outs=True,
    )


# --- Address recipients: no user, no inbox, one delivery on the address's channel ------
ADDRESS_NOTIFICATIONS_SQL = f"""
    INSERT INTO {NOTIFICATIONS} (event_id, user_id, address, title, body, data, url, in_inbox, created_at)
    SELECT %(event_id)s, NULL, r.address, %(title)s, %(body)s, NULL, %(url)s, FALSE, %(now)s
    FROM {RECIPIENTS} r
    WHERE r.send_id = %(send_id)s AND r.user_id IS NULL
    ON CONFLICT (event_id, address) WHERE NOT (address = '') DO NOTHING
"""
# An email address has an "@", an E.164 number never has.
ADDRESS_ITEMS = f"""(
    SELECT n.id, n.user_id, n.address,
           CASE WHEN n.address LIKE '%%@%%' THEN '{Channel.EMAIL}' ELSE '{Channel.SMS}' END AS channel
    FROM {NOTIFICATIONS} n
    WHERE n.event_id = %(event_id)s AND n.user_id IS NULL AND n.address <> ''
) a"""
ADDRESS_DELIVERIES_SQL = f"""
    INSERT INTO {DELIVERIES}
        (notification_id, channel, status, attempts, last_error, provider_message_id, created_at, updated_at,
         not_before)
    SELECT a.id, a.channel, {{status}}, 0, {{last_error}}, '', %(now)s, %(now)s, {{not_before}}
    FROM {ADDRESS_ITEMS}
    {{joins}}
    ON CONFLICT (notification_id, channel) DO NOTHING
"""
ADDRESS_RECIPIENTS = Recipients(
    from_sql=ADDRESS_ITEMS, where_sql="1 = 1", user="a.user_id", channel="a.channel", address="a.address"
)
ADDRESS_DELIVERIES = (
    f"(SELECT x.* FROM {DELIVERIES} x JOIN {NOTIFICATIONS} n ON n.id = x.notification_id"
    " WHERE n.event_id = %(event_id)s AND n.user_id IS NULL)"
)


def _fan_out_addresses(cursor, params: dict, critical: bool) -> tuple[int, int | None, dict[str, int]]:
    """A direct send's address recipients, all at once (a send names at most
    NOTIFICATION_RECIPIENTS_MAX): their items, then their deliveries under the same
    policy as people's (only the suppression list can stop them: they have no
    preferences). Returns (items, deliveries, born cancelled by channel)."""
    cursor.execute(ADDRESS_NOTIFICATIONS_SQL, params)
    added = max(cursor.rowcount, 0)
    policy = delivery_policy(recipients=ADDRESS_RECIPIENTS, params=params, critical=critical, now=timezone.now())
    deliveries, muted = _insert_deliveries(cursor, ADDRESS_DELIVERIES_SQL, params, policy, ADDRESS_DELIVERIES)
    return added, deliveries, muted


def recipients_audience(send: DirectSend) -> Audience:
    """The audience of a direct send: its recipient rows, on the requested channels or
    (none requested) on each recipient's subscribed ones, and its addresses."""
    params = {"send_id": send.pk}
    addresses = send.recipients.filter(user__isnull=True).exists()
    if send.channels is None:
        return Audience(
            RECIPIENTS_CHUNK_END_SQL,
            RECIPIENTS_LAST_USER_SQL,
            SUBSCRIBED_RECIPIENTS_NOTIFICATIONS_SQL,
            SUBSCRIBED_RECIPIENTS_DELIVERIES_SQL,
            SUBSCRIBED_RECIPIENTS,
            params,
            addresses=addresses,
        )
    external = [c for c in send.channels if c != Channel.IN_APP]
    params["in_app"] = Channel.IN_APP in send.channels
    params.update({f"channel_{i}": channel for i, channel in enumerate(external)})
    return Audience(
        RECIPIENTS_CHUNK_END_SQL,
        RECIPIENTS_LAST_USER_SQL,
        RECIPIENTS_NOTIFICATIONS_SQL,
        _requested_deliveries_sql(external) if external else None,
        _requested_recipients(external) if external else None,
        params,
        addresses=addresses,
    )
