from celery import shared_task

from apps.common.retry import DATABASE_OUTAGE_RETRY

from .dispatch import deliveries_dispatch, deliveries_retry_later
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
    if plan["retry"]:
        # Only the transiently failed ids go round again.
        deliveries_retry_later(channel=channel, delivery_ids=plan["retry"])
    return {step: len(ids) for step, ids in plan.items()}


@shared_task(name="delivery.sweep_stuck")
def sweep_stuck_deliveries_task() -> dict:
    return deliveries_sweep_stuck()
