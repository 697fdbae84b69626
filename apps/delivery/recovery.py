"""Recovery of deliveries that no running task will finish.

A worker that dies while sending (SIGKILL, out of memory, a provider library that
crashes the process) leaves the deliveries it claimed in `sending`. Its task message
comes back flagged as redelivered (acks_late + reject_on_worker_lost, or the broker's
visibility timeout), and the redelivered task hands the orphans back here. The claim
already counted the attempt, so a delivery out of attempts goes dead instead of killing
worker after worker, and the others go back to pending one per task: a delivery that
kills its worker then takes down nobody but itself.

The sweeper (on beat) catches what no message will bring back: deliveries left in
`sending` longer than any task may run, and pending ones whose dispatch message was
lost (a worker killed between a fan-out chunk's commit and its enqueue, a broker that
restarted empty). Enqueueing a pending delivery twice is harmless: only one claim wins.

At-least-once: a worker killed after the provider accepted a message but before the
result was recorded leaves it in `sending`; recovering it sends it again.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .dispatch import max_attempts
from .enqueue import deliveries_enqueue, retry_delay
from .models import Delivery, DeliveryEvent, DeliveryStatus
from .services import delivery_history_record

logger = logging.getLogger(__name__)

WORKER_LOST = "worker lost while sending"


def deliveries_recover_orphans(*, channel_key: str, delivery_ids: list[int]) -> dict[str, list[int]]:
    """Deliveries among delivery_ids left in `sending` by a dead worker: dead when out
    of attempts, otherwise pending again and re-enqueued one per task after a backoff.
    Returns {"dead": [...], "retry": [...]}."""
    limit = max_attempts(channel_key)
    now = timezone.now()
    with transaction.atomic():
        orphans = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(pk__in=delivery_ids, status=DeliveryStatus.SENDING)
            .values_list("pk", "attempts")
        )
        dead = [pk for pk, attempts in orphans if attempts >= limit]
        retry = [(pk, attempts) for pk, attempts in orphans if attempts < limit]
        Delivery.objects.filter(pk__in=dead).update(
            status=DeliveryStatus.DEAD, updated_at=now, last_error=f"{WORKER_LOST}; attempts exhausted"
        )
        Delivery.objects.filter(pk__in=[pk for pk, _ in retry]).update(
            status=DeliveryStatus.PENDING, updated_at=now, last_error=WORKER_LOST
        )
        history = [(pk, DeliveryStatus.DEAD, limit) for pk in dead]
        history += [(pk, DeliveryStatus.PENDING, attempts) for pk, attempts in retry]
        delivery_history_record(
            [
                DeliveryEvent(delivery_id=pk, status=status, detail={"error": WORKER_LOST, "attempt": attempts})
                for pk, status, attempts in history
            ]
        )

        def enqueue():
            for pk, attempts in retry:
                deliveries_enqueue(channel=channel_key, delivery_ids=[pk], countdown=retry_delay(attempts - 1))

        transaction.on_commit(enqueue)
    if orphans:
        logger.warning("%s: %d orphaned deliveries recovered, %d dead", channel_key, len(orphans), len(dead))
    return {"dead": dead, "retry": [pk for pk, _ in retry]}


def deliveries_sweep_stuck(*, limit: int = 5_000) -> dict[str, int]:
    """Recover deliveries stuck in `sending` past any task's time limit, and re-enqueue
    pending ones nobody picked up within the grace period. Returns counts."""
    now = timezone.now()
    stuck_before = now - timedelta(seconds=settings.DELIVERY_STUCK_SENDING_SECONDS)
    stale_before = now - timedelta(seconds=settings.DELIVERY_STALE_PENDING_SECONDS)
    recovered = 0
    stuck = (
        Delivery.objects.filter(status=DeliveryStatus.SENDING, updated_at__lt=stuck_before)
        .order_by("pk")
        .values_list("pk", "channel")[:limit]
    )
    for channel, ids in _by_channel(stuck).items():
        recovered += sum(map(len, deliveries_recover_orphans(channel_key=channel, delivery_ids=ids).values()))
    stale = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, updated_at__lt=stale_before)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by("pk")
        .values_list("pk", "channel")[:limit]
    )
    requeued = 0
    for channel, ids in _by_channel(stale).items():
        deliveries_enqueue(channel=channel, delivery_ids=ids)
        requeued += len(ids)
    if recovered or requeued:
        logger.warning("delivery sweep: %d stuck in sending recovered, %d stale pending re-sent", recovered, requeued)
    return {"recovered": recovered, "requeued": requeued}


def _by_channel(rows) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for pk, channel in rows:
        grouped.setdefault(channel, []).append(pk)
    return grouped
