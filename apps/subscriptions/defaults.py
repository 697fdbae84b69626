"""Default subscriptions, materialised.

An event type's `default_channels` are what a person gets until they choose otherwise.
Rather than join every user at fan-out time, the defaults are written as Subscription
rows (is_default=True): for a new user at creation (one small insert), and for every
user when an event type's defaults change (a task, in keyset-paged set-based chunks).
Fan-out then reads subscriptions alone. A row the person changed is no longer a default
(is_default=False) and is never touched again by this module; a row the person removed
left a SubscriptionOptOut behind, and no path here writes that (user, event type,
channel) again: the person's decision outlives every later sync.
"""

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from apps.common.channels import PERSON_CHANNEL_CHOICES
from apps.events.models import EventType

from .models import Subscription, SubscriptionOptOut, SubscriptionOrigin

SUBSCRIPTIONS = Subscription._meta.db_table
OPT_OUTS = SubscriptionOptOut._meta.db_table
USERS = get_user_model()._meta.db_table

INSERT_FOR_USERS_SQL = f"""
    INSERT INTO {SUBSCRIPTIONS}
        (user_id, event_type_id, channel, subject_type, subject_id, enabled, is_default, origin,
         created_at, updated_at)
    SELECT u.id, %(event_type_id)s, %(channel)s, '', '', TRUE, TRUE, '{SubscriptionOrigin.DEFAULT}', %(now)s, %(now)s
    FROM {USERS} u
    WHERE u.id > %(after)s AND u.id <= %(upto)s
    AND NOT EXISTS (
        SELECT 1 FROM {OPT_OUTS} o
        WHERE o.event_type_id = %(event_type_id)s AND o.user_id = u.id AND o.channel = %(channel)s
    )
    ON CONFLICT DO NOTHING
"""


# PostgreSQL advisory locks, one per event type in this namespace (any number unique to
# this module). A sync chunk holds it exclusively, a person's removal shared: else a
# chunk's INSERT that started before a removal committed waits for the removed row,
# finds no conflict once it is gone, and writes it again (its NOT EXISTS read the
# opt-outs before the removal). SQLite serialises writers: no lock needed.
DEFAULTS_LOCK_NAMESPACE = 7301


def defaults_lock(*, event_type_ids, shared: bool) -> None:
    """Within the caller's transaction."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        for event_type_id in sorted(set(event_type_ids)):  # one order: no deadlock between removals
            cursor.execute(f"SELECT {function}(%s, %s)", [DEFAULTS_LOCK_NAMESPACE, event_type_id])


def valid_channels(channels) -> list[str]:
    """The channels a person can be subscribed on (never the operators' `chat`)."""
    people = {value for value, _ in PERSON_CHANNEL_CHOICES}
    return [c for c in dict.fromkeys(channels or []) if c in people]


def subscriptions_defaults_for_user(*, user) -> int:
    """Give a person the default subscriptions of every event type (but those they
    removed)."""
    now = timezone.now()
    removed = set(SubscriptionOptOut.objects.filter(user=user).values_list("event_type_id", "channel"))
    rows = [
        Subscription(
            user=user,
            event_type_id=event_type_id,
            channel=channel,
            enabled=True,
            is_default=True,
            origin=SubscriptionOrigin.DEFAULT,
            created_at=now,
            updated_at=now,
        )
        for event_type_id, channels in EventType.objects.exclude(default_channels=[]).values_list(
            "id", "default_channels"
        )
        for channel in valid_channels(channels)
        if (event_type_id, channel) not in removed
    ]
    return len(Subscription.objects.bulk_create(rows, ignore_conflicts=True))


def subscriptions_defaults_sync(*, event_type_id: int, chunk_size: int = 50_000) -> int:
    """Bring every user's default rows of one event type in line with its defaults:
    add the default channels everyone lacks, remove untouched rows of channels no longer
    default. Returns how many rows were added."""
    event_type = EventType.objects.filter(pk=event_type_id).first()
    if event_type is None:
        return 0
    channels = valid_channels(event_type.default_channels)
    Subscription.objects.filter(event_type_id=event_type_id, is_default=True).exclude(channel__in=channels).delete()
    added = 0
    user_ids = get_user_model().objects.order_by("pk").values_list("pk", flat=True)
    after = 0
    while channels:
        rest = user_ids.filter(pk__gt=after)
        upto = next(iter(rest[chunk_size - 1 : chunk_size]), None) or rest.order_by("-pk").first()
        if upto is None:
            break
        with transaction.atomic(), connection.cursor() as cursor:
            defaults_lock(event_type_ids=[event_type_id], shared=False)
            for channel in channels:
                params = {
                    "event_type_id": event_type_id,
                    "channel": channel,
                    "after": after,
                    "upto": upto,
                    "now": timezone.now(),
                }
                cursor.execute(INSERT_FOR_USERS_SQL, params)
                added += max(cursor.rowcount, 0)
        after = upto
    return added
