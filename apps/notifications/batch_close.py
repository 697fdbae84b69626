"""Closing batching windows (batching.py): beat takes the windows due, a page at a
time, and writes one delivery per window and external channel of the person's, under
the same preferences and suppression list as every delivery (apps.subscriptions.policy).

A page is one transaction: its windows are row-locked with SKIP LOCKED, so two closers
(two beats, or a beat and a redelivered task) never close one window twice, and a
window that a fan-out is joining right now (its row locked by the upsert) is skipped
and closed by the next page or run, with that event in it. A window is marked closed in
the same transaction that writes its deliveries: a crash loses neither.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.events.models import Event, EventBatch, EventType
from apps.subscriptions.models import Subscription
from apps.subscriptions.policy import Recipients, delivery_policy

from .batch_content import batch_inbox_content, batch_summary

# The one way deliveries are written under the policy, with their history.
from .fanout import _insert_deliveries
from .models import UserNotification

BATCHES = EventBatch._meta.db_table
EVENTS = Event._meta.db_table
SUBSCRIPTIONS = Subscription._meta.db_table
NOTIFICATIONS = UserNotification._meta.db_table
DELIVERIES = Delivery._meta.db_table

# The person's enabled external subscriptions to the window's event type, for any
# subject or for its last event's.
CLOSING_SUBSCRIPTIONS = f"""
    {BATCHES} b
    JOIN {EVENTS} e ON e.id = b.last_event_id
    JOIN {SUBSCRIPTIONS} s ON s.user_id = b.user_id AND s.event_type_id = b.event_type_id AND s.enabled
        AND s.channel <> '{Channel.IN_APP}'
        AND (s.subject_type = '' OR (s.subject_type = e.subject_type AND s.subject_id = e.subject_id))
"""


def _close_deliveries_sql(closing: str) -> str:
    return f"""
    INSERT INTO {DELIVERIES}
        (notification_id, channel, status, attempts, last_error, provider_message_id, created_at, updated_at,
         not_before)
    SELECT DISTINCT b.notification_id, s.channel, {{status}}, 0, {{last_error}}, '', %(now)s, %(now)s, {{not_before}}
    FROM {CLOSING_SUBSCRIPTIONS}
    {{joins}}
    WHERE {closing} AND b.notification_id IS NOT NULL
    ON CONFLICT (notification_id, channel) DO NOTHING
    """


def _closed_deliveries(closing: str) -> str:
    return f"(SELECT x.* FROM {DELIVERIES} x JOIN {BATCHES} b ON b.notification_id = x.notification_id WHERE {closing})"


@dataclass(frozen=True)
class ClosedPage:
    windows: int
    # The deliveries to hand to dispatch now (the held and cancelled ones are not).
    pending_delivery_ids: list[int]


def _retitle(windows, now) -> None:
    """The closed windows' final words on their items (and their summary, which the
    channels' templates read), once per distinct window."""
    types = {t.pk: t for t in EventType.objects.filter(pk__in={w.event_type_id for w in windows})}
    groups: dict[tuple, list[EventBatch]] = {}
    for window in windows:
        key = (window.event_type_id, window.batch_key, window.first_event_id, window.last_event_id, window.count)
        groups.setdefault(key, []).append(window)
    last_events = Event.objects.select_related("event_type", "actor").in_bulk({key[3] for key in groups})
    for (type_id, batch_key, first, last, count), members in groups.items():
        summary = batch_summary(
            event_type=types[type_id], batch_key=batch_key, first_event_id=first, last_event_id=last, count=count
        )
        EventBatch.objects.filter(pk__in=[w.pk for w in members]).update(summary=summary)
        if count > 1:
            title, body = batch_inbox_content(event_type=types[type_id], last_event=last_events[last], summary=summary)
            UserNotification.objects.filter(pk__in=[w.notification_id for w in members]).update(title=title, body=body)


def batches_close_page(*, now=None, page: int | None = None) -> ClosedPage | None:
    """Close one page of the windows due at `now`: returns what it closed, or None
    when none is due (or every due one is locked by a fan-out joining it)."""
    now = now or timezone.now()
    page = page or settings.BATCH_CLOSE_PAGE_SIZE
    with transaction.atomic():
        windows = list(
            EventBatch.objects.select_for_update(skip_locked=True)
            .filter(closed_at__isnull=True, closes_at__lte=now)
            .order_by("closes_at")[:page]
        )
        if not windows:
            return None
        ids = [w.pk for w in windows]
        EventBatch.objects.filter(pk__in=ids).update(closed_at=now)
        _retitle(windows, now)
        params = {
            "now": connection.ops.adapt_datetimefield_value(now),
            **{f"batch_{i}": pk for i, pk in enumerate(ids)},
        }
        closing = "b.id IN ({})".format(", ".join(f"%(batch_{i})s" for i in range(len(ids))))
        policy = delivery_policy(
            recipients=Recipients(from_sql=CLOSING_SUBSCRIPTIONS, where_sql=closing),
            params=params,
            critical=False,
            now=now,
        )
        with connection.cursor() as cursor:
            _insert_deliveries(cursor, _close_deliveries_sql(closing), params, policy, _closed_deliveries(closing))
        pending = list(
            Delivery.objects.filter(
                notification_id__in=[w.notification_id for w in windows if w.notification_id],
                status=DeliveryStatus.PENDING,
                not_before__isnull=True,
            ).values_list("pk", flat=True)
        )
    return ClosedPage(windows=len(windows), pending_delivery_ids=pending)
