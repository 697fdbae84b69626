"""Dispatch's tasks, and deliveries_enqueue: the one way work enters this stage.

The services (dispatch.py, recovery.py) decide and return what goes back on a queue;
only this module puts it there, always on the queue of the send's priority.
"""

from collections.abc import Iterable

from celery import shared_task
from django.db import transaction

from apps.common.priorities import NORMAL, queue_for
from apps.common.retry import DATABASE_OUTAGE_RETRY

from .channels.registry import get_channel
from .dispatch import deliveries_dispatch
from .recovery import deliveries_recover_orphans, deliveries_sweep_stuck
from .retry import capped_countdown
from .selectors import delivery_routes
from .services import Requeue

# A deferred delivery (rate limit, open circuit) waits at least this long.
MIN_DEFER_SECONDS = 0.5


def deliveries_enqueue(*, channel: str, delivery_ids: list[int], priority: str, countdown: float | None = None) -> None:
    """Put delivery ids on their channel's queue for `priority`, in batches the channel
    accepts. Callers inside a transaction wrap this in transaction.on_commit: a worker
    must never see ids before they are committed."""
    queue = queue_for(channel, priority)
    size = get_channel(channel).batch_size
    countdown = capped_countdown(countdown)
    for start in range(0, len(delivery_ids), size):
        dispatch_batch_task.apply_async(
            (channel, delivery_ids[start : start + size], priority), queue=queue, countdown=countdown
        )


def deliveries_enqueue_routed(*, delivery_ids: list[int]) -> None:
    """Enqueue deliveries whose send's priority the caller does not know (released from
    a hold, a digest): each on its channel's queue of its own send's priority."""
    for (channel, priority), ids in delivery_routes(delivery_ids=delivery_ids).items():
        deliveries_enqueue(channel=channel, delivery_ids=ids, priority=priority)


def requeues_enqueue(requeues: Iterable[Requeue]) -> int:
    """Enqueue what a service returned, once the caller's transaction (if any) commits;
    returns how many deliveries."""
    requeues = list(requeues)
    for requeue in requeues:
        transaction.on_commit(
            lambda requeue=requeue: deliveries_enqueue(
                channel=requeue.channel,
                delivery_ids=requeue.delivery_ids,
                priority=requeue.priority,
                countdown=requeue.countdown,
            )
        )
    return sum(len(requeue.delivery_ids) for requeue in requeues)


# A database restart in the middle of a batch is retried; what it had claimed and not
# recorded stays in `sending` until the sweeper recovers it.
@shared_task(
    name="delivery.dispatch_batch", acks_late=True, reject_on_worker_lost=True, bind=True, **DATABASE_OUTAGE_RETRY
)
def dispatch_batch_task(self, channel: str, delivery_ids: list[int], priority: str = NORMAL) -> dict:
    # priority defaults for messages queued before it was carried.
    if (self.request.delivery_info or {}).get("redelivered"):
        # The worker that had this batch died: what it left in `sending` is recovered
        # (dead when out of attempts, else retried alone), the rest is sent as usual.
        recovered = deliveries_recover_orphans(channel_key=channel, delivery_ids=delivery_ids)
        requeues_enqueue(recovered.requeues(channel=channel, priority=priority))
        orphans = set(recovered.dead) | set(recovered.retried_ids)
        delivery_ids = [pk for pk in delivery_ids if pk not in orphans]
    plan = deliveries_dispatch(channel_key=channel, delivery_ids=delivery_ids)
    if plan.steps["retry"]:
        # Only the transiently failed ids go round again.
        deliveries_enqueue(
            channel=channel, delivery_ids=plan.steps["retry"], priority=priority, countdown=plan.retry_in
        )
    if plan.steps["deferred"]:
        deliveries_enqueue(
            channel=channel,
            delivery_ids=plan.steps["deferred"],
            priority=priority,
            countdown=max(plan.defer_for, MIN_DEFER_SECONDS),
        )
    return plan.counts()


@shared_task(name="delivery.sweep_stuck")
def sweep_stuck_deliveries_task() -> dict:
    """Deliveries a dead worker left in `sending`, and pending ones whose message was lost."""
    sweep = deliveries_sweep_stuck()
    requeues_enqueue(sweep.requeues)
    return sweep.counts()
