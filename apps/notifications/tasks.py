from celery import shared_task

from apps.common.retry import DATABASE_OUTAGE_RETRY

from .fanout import event_fan_out


@shared_task(name="notifications.fan_out", acks_late=True, reject_on_worker_lost=True, **DATABASE_OUTAGE_RETRY)
def fan_out_task(event_id: int) -> None:
    event_fan_out(event_id=event_id)


@shared_task(name="notifications.fan_out_batch", acks_late=True, reject_on_worker_lost=True)
def fan_out_batch_task(event_ids: list[int]) -> None:
    """The fan-outs of a bulk send's small events, one after the other; each is
    idempotent, so a redelivered batch redoes only what is not done."""
    for event_id in event_ids:
        event_fan_out(event_id=event_id)


@shared_task(name="notifications.scheduled_sends_release")
def scheduled_sends_release_task() -> int:
    from .sends import scheduled_sends_release

    return scheduled_sends_release()


@shared_task(name="notifications.direct_send_cancel", acks_late=True, reject_on_worker_lost=True)
def direct_send_cancel_task(send_id: int, by: str) -> int:
    """The rest of a large send's pending deliveries (each move is conditional: a re-run
    or a race with the inline part cancels nothing twice)."""
    from .models import DirectSend
    from .sends import direct_send_cancel

    send = DirectSend.objects.filter(pk=send_id).first()
    return direct_send_cancel(send=send, by=by, all_now=True) if send else 0
