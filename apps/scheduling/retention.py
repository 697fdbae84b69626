"""Retention: what is old and finished is deleted, in batches (short transactions)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.common.models import IdempotencyRecord
from apps.delivery.models import Delivery, DeliveryStatus, EarlyProviderEvent
from apps.events.models import EventBatch
from apps.notifications.models import UserNotification
from apps.subscriptions.models import ThrottleCounter
from apps.subscriptions.throttles import THROTTLE_WINDOW_MAX

logger = logging.getLogger(__name__)

FINISHED = [
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.DEAD,
    DeliveryStatus.CANCELLED,
]


def _delete_in_batches(queryset, batch_size: int) -> int:
    model = queryset.model
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)


def retention_purge(*, now=None, days: int | None = None, batch_size: int | None = None) -> dict:
    """Delete, older than `days`: finished deliveries (their history goes with them),
    inbox items read and archived, and items outside the inbox left without deliveries;
    and provider callbacks held longer than EARLY_CALLBACK_KEEP_HOURS for a send never
    recorded; and the answers to Idempotency-Keys older than IDEMPOTENCY_TTL_SECONDS;
    closed batching windows; and throttle counters of windows long past.
    Unfinished deliveries keep their notification."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=days if days is not None else settings.RETENTION_DAYS)
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    unfinished = Delivery.objects.filter(notification=OuterRef("pk")).exclude(status__in=FINISHED)
    any_delivery = Delivery.objects.filter(notification=OuterRef("pk"))
    counts = {
        "deliveries": _delete_in_batches(
            Delivery.objects.filter(status__in=FINISHED, updated_at__lt=cutoff), batch_size
        ),
        "inbox_items": _delete_in_batches(
            UserNotification.objects.filter(
                in_inbox=True, read_at__isnull=False, archived_at__isnull=False, created_at__lt=cutoff
            ).exclude(Exists(unfinished)),
            batch_size,
        ),
        "delivery_only_items": _delete_in_batches(
            UserNotification.objects.filter(in_inbox=False, created_at__lt=cutoff).exclude(Exists(any_delivery)),
            batch_size,
        ),
        "early_callbacks": _delete_in_batches(
            EarlyProviderEvent.objects.filter(
                received_at__lt=now - timedelta(hours=settings.EARLY_CALLBACK_KEEP_HOURS)
            ),
            batch_size,
        ),
        "idempotency_records": _delete_in_batches(
            IdempotencyRecord.objects.filter(created_at__lt=now - timedelta(seconds=settings.IDEMPOTENCY_TTL_SECONDS)),
            batch_size,
        ),
    }
    counts["closed_batches"] = _delete_in_batches(EventBatch.objects.filter(closed_at__lt=cutoff), batch_size)
    # A counter is read only in its own window (a week at the most).
    counts["throttle_counters"] = _delete_in_batches(
        ThrottleCounter.objects.filter(window_start__lt=now - THROTTLE_WINDOW_MAX - timedelta(days=1)), batch_size
    )
    if any(counts.values()):
        logger.info("retention purge (older than %s): %s", cutoff.isoformat(), counts)
    return counts
