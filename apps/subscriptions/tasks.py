from celery import shared_task

from apps.common.retry import DATABASE_OUTAGE_RETRY

from .defaults import subscriptions_defaults_sync


@shared_task(name="subscriptions.defaults_sync", acks_late=True, reject_on_worker_lost=True, **DATABASE_OUTAGE_RETRY)
def subscriptions_defaults_sync_task(event_type_id: int) -> int:
    return subscriptions_defaults_sync(event_type_id=event_type_id)
