from celery import shared_task

from apps.common.retry import DATABASE_OUTAGE_RETRY

from .fanout import event_fan_out


@shared_task(name="notifications.fan_out", acks_late=True, reject_on_worker_lost=True, **DATABASE_OUTAGE_RETRY)
def fan_out_task(event_id: int) -> None:
    event_fan_out(event_id=event_id)
