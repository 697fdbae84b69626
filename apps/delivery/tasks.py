from celery import shared_task

from apps.common.retry import DATABASE_OUTAGE_RETRY

from .dispatch import deliveries_dispatch, deliveries_retry_later
from .enqueue import deliveries_enqueue
from .recovery import deliveries_recover_orphans, deliveries_sweep_stuck


# A database restart in the middle of a batch is retried; what it had claimed and not
# recorded stays in `sending` until the sweeper recovers it.
@shared_task(
    name="delivery.dispatch_batch", acks_late=True, reject_on_worker_lost=True, bind=True, **DATABASE_OUTAGE_RETRY
)
def dispatch_batch_task(self, channel: str, delivery_ids: list[int]) -> dict:
    if (self.request.delivery_info or {}).get("redelivered"):
        # The worker that had this batch died: what it left in `sending` is recovered
        # (dead when out of attempts, else retried alone), the rest is sent as usual.
        recovered = deliveries_recover_orphans(channel_key=channel, delivery_ids=delivery_ids)
        orphans = {pk for ids in recovered.values() for pk in ids}
        delivery_ids = [pk for pk in delivery_ids if pk not in orphans]
    plan = deliveries_dispatch(channel_key=channel, delivery_ids=delivery_ids)
    if plan.steps["retry"]:
        # Only the transiently failed ids go round again.
        deliveries_retry_later(channel=channel, delivery_ids=plan.steps["retry"], at_least=plan.retry_after)
    if plan.steps["deferred"]:
        deliveries_enqueue(channel=channel, delivery_ids=plan.steps["deferred"], countdown=max(plan.defer_for, 0.5))
    return plan.counts()


@shared_task(name="delivery.sweep_stuck")
def sweep_stuck_deliveries_task() -> dict:
    """Deliveries a dead worker left in `sending`, and pending ones whose message was lost."""
    return deliveries_sweep_stuck()
