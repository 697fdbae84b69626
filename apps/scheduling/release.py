"""Release what is due: scheduled direct sends to their fan-out, and held deliveries
(quiet hours, a digest turned off) to their channel queues, each at its send's priority.

Each batch is taken under row locks (SKIP LOCKED, so concurrent releasers split the
work), its `not_before` cleared in the same transaction, and the ids enqueued after the
commit. A cleared delivery is never picked again, so a release enqueues it once; the
dispatch claim would make a second enqueue harmless anyway.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.selectors import PRIORITY
from apps.delivery.tasks import deliveries_enqueue
from apps.notifications.sends import scheduled_sends_release
from apps.notifications.tasks import fan_out_enqueue

logger = logging.getLogger(__name__)


def _enqueue(routes: dict[tuple[str, str], list[int]]) -> None:
    for (channel, priority), ids in routes.items():
        deliveries_enqueue(channel=channel, delivery_ids=ids, priority=priority)


def _release_batch(*, now, batch_size: int) -> int:
    with transaction.atomic():
        rows = list(
            # Only the deliveries are locked, not the events their priority is read from.
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=DeliveryStatus.PENDING, not_before__lte=now)
            .order_by("not_before", "pk")
            .values_list("pk", "channel", PRIORITY)[:batch_size]
        )
        if not rows:
            return 0
        Delivery.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(not_before=None, updated_at=timezone.now())
        routes: dict[tuple[str, str], list[int]] = {}
        for pk, channel, priority in rows:
            routes.setdefault((channel, priority), []).append(pk)
        transaction.on_commit(lambda: _enqueue(routes))
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


def sends_release_due() -> int:
    """Queue the fan-out of every scheduled direct send that is due, at its priority."""
    released = scheduled_sends_release()
    for priority, event_ids in released.items():
        fan_out_enqueue(event_ids=event_ids, priority=priority)
    return sum(map(len, released.values()))
