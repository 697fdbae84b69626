from celery import shared_task

from .dispatch import deliveries_dispatch, deliveries_retry_later


@shared_task(name="delivery.dispatch_batch", acks_late=True, reject_on_worker_lost=True)
def dispatch_batch_task(channel: str, delivery_ids: list[int]) -> dict:
    plan = deliveries_dispatch(channel_key=channel, delivery_ids=delivery_ids)
    if plan["retry"]:
        # Only the transiently failed ids go round again.
        deliveries_retry_later(channel=channel, delivery_ids=plan["retry"])
    return {step: len(ids) for step, ids in plan.items()}
