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

This module decides and returns the work to queue again (Requeue, with the priority of
each delivery's send); the tasks (tasks.py) enqueue it.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import Delivery, DeliveryEvent, DeliveryStatus
from .retry import max_attempts, retry_delay
from .selectors import PRIORITY
from .services import Requeue, delivery_history_record

logger = logging.getLogger(__name__)

WORKER_LOST = "worker lost while sending"


@dataclass
class Recovered:
    dead: list[int] = field(default_factory=list)
    # Each retried orphan goes alone, so one that kills its worker takes down no other.
    retry: list[tuple[int, float]] = field(default_factory=list)

    @property
    def retried_ids(self) -> list[int]:
        return [pk for pk, _ in self.retry]

    def requeues(self, *, channel: str, priority: str) -> list[Requeue]:
        return [Requeue(channel, priority, [pk], countdown) for pk, countdown in self.retry]


def deliveries_recover_orphans(*, channel_key: str, delivery_ids: list[int]) -> Recovered:
    """Deliveries among delivery_ids left in `sending` by a dead worker: dead when out
    of attempts, otherwise pending again, to be re-enqueued one per task after a backoff."""
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
    if orphans:
        logger.warning("%s: %d orphaned deliveries recovered, %d dead", channel_key, len(orphans), len(dead))
    return Recovered(dead=dead, retry=[(pk, retry_delay(attempts - 1)) for pk, attempts in retry])


@dataclass
class Sweep:
    recovered: int = 0
    requeued: int = 0
    requeues: list[Requeue] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"recovered": self.recovered, "requeued": self.requeued}


def deliveries_sweep_stuck(*, limit: int = 5_000) -> Sweep:
    """Recover deliveries stuck in `sending` past any task's time limit, and find the
    pending ones nobody picked up within the grace period: returns the counts and what
    to enqueue again, each at its send's priority.

    Stale pending ones are taken `limit` at a time, up to DELIVERY_SWEEP_MAX_PENDING in
    one run (a broker emptied with tens of thousands queued is re-driven by one sweep),
    and each one taken is touched, so that the next run takes others first rather than
    the same ones again while their messages wait in the queue."""
    now = timezone.now()
    stuck_before = now - timedelta(seconds=settings.DELIVERY_STUCK_SENDING_SECONDS)
    stale_before = now - timedelta(seconds=settings.DELIVERY_STALE_PENDING_SECONDS)
    sweep = Sweep()
    stuck = (
        Delivery.objects.filter(status=DeliveryStatus.SENDING, updated_at__lt=stuck_before)
        .order_by("pk")
        .values_list("pk", "channel", PRIORITY)[:limit]
    )
    for (channel, priority), ids in _by_route(stuck).items():
        recovered = deliveries_recover_orphans(channel_key=channel, delivery_ids=ids)
        sweep.recovered += len(recovered.dead) + len(recovered.retry)
        sweep.requeues += recovered.requeues(channel=channel, priority=priority)
    for stale in _stale_pending_batches(stale_before=stale_before, now=now, limit=limit):
        for (channel, priority), ids in _by_route(stale).items():
            sweep.requeues.append(Requeue(channel, priority, ids))
            sweep.requeued += len(ids)
    if sweep.recovered or sweep.requeued:
        logger.warning(
            "delivery sweep: %d stuck in sending recovered, %d stale pending re-sent", sweep.recovered, sweep.requeued
        )
    return sweep


def _stale_pending_batches(*, stale_before, now, limit: int):
    """Pending deliveries untouched since `stale_before` and due, in batches by id, each
    touched (updated_at) as it is taken; at most DELIVERY_SWEEP_MAX_PENDING in all."""
    after, taken = 0, 0
    while taken < settings.DELIVERY_SWEEP_MAX_PENDING:
        stale = (
            Delivery.objects.filter(status=DeliveryStatus.PENDING, updated_at__lt=stale_before, pk__gt=after)
            .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
            .order_by("pk")
            .values_list("pk", "channel", PRIORITY)[: min(limit, settings.DELIVERY_SWEEP_MAX_PENDING - taken)]
        )
        rows = list(stale)
        if not rows:
            return
        ids = [pk for pk, _, _ in rows]
        Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).update(updated_at=now)
        yield rows
        after, taken = ids[-1], taken + len(rows)


def _by_route(rows) -> dict[tuple[str, str], list[int]]:
    """(channel, priority) → ids: the queue each group goes back on."""
    grouped: dict[tuple[str, str], list[int]] = {}
    for pk, channel, priority in rows:
        grouped.setdefault((channel, priority), []).append(pk)
    return grouped
