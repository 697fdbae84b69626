from celery import shared_task
from django.conf import settings

from .dispatch import deliveries_dispatch, deliveries_retry_later
from .enqueue import deliveries_enqueue
from .services import deliveries_recover_stuck


@shared_task(name="delivery.dispatch_batch", acks_late=True, reject_on_worker_lost=True)
def dispatch_batch_task(channel: str, delivery_ids: list[int]) -> dict:
    plan = deliveries_dispatch(channel_key=channel, delivery_ids=delivery_ids)
    if plan.steps["retry"]:
        # Only the transiently failed ids go round again.
        deliveries_retry_later(channel=channel, delivery_ids=plan.steps["retry"], at_least=plan.retry_after)
    if plan.steps["deferred"]:
        deliveries_enqueue(channel=channel, delivery_ids=plan.steps["deferred"], countdown=max(plan.defer_for, 0.5))
    return plan.counts()


@shared_task(name="delivery.recover_stuck", acks_late=True)
def recover_stuck_deliveries_task() -> int:
    """Deliveries left in `sending` by a worker that died mid-send go back to pending."""
    return deliveries_recover_stuck(older_than_seconds=settings.DELIVERY_SENDING_LEASE_SECONDS)
