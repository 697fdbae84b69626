"""Release due held deliveries (scheduled sends, quiet hours) to their channel queues.

Each batch is taken under row locks (SKIP LOCKED, so concurrent releasers split the
work), its `not_before` cleared in the same transaction, and the ids enqueued after the
commit. A cleared delivery is never picked again, so a release enqueues it once; the
dispatch claim would make a second enqueue harmless anyway.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.delivery.dispatch import deliveries_enqueue
from apps.delivery.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def _enqueue(by_channel: dict[str, list[int]]) -> None:
    for channel, ids in by_channel.items():
        deliveries_enqueue(channel=channel, delivery_ids=ids)


def _release_batch(*, now, batch_size: int) -> int:
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, not_before__lte=now)
            .order_by("not_before", "pk")
            .values_list("pk", "channel")[:batch_size]
        )
        if not rows:
            return 0
        Delivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(not_before=None, updated_at=timezone.now())
        by_channel: dict[str, list[int]] = {}
        for pk, channel in rows:
            by_channel.setdefault(channel, []).append(pk)
        transaction.on_commit(lambda: _enqueue(by_channel))
    return len(rows)


def deliveries_release_due(*, now=None, batch_size: int | None = None, max_batches: int = 20) -> int:
    """Release up to max_batches batches of deliveries due at `now`; returns how many.
    What is left goes in the next run (a few seconds later)."""
    now = now or timezone.now()
    batch_size = batch_size or settings.SCHEDULED_RELEASE_BATCH_SIZE
    released = 0
    for _ in range(max_batches):
        count = _release_batch(now=now, batch_size=batch_size)
        released += count
        if count < batch_size:
            break
    if released:
        logger.info("released %d due deliveries", released)
    return released
