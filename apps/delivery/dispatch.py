"""Dispatch: pending deliveries → channel batches → provider → recorded outcome.

Tasks carry only a channel key and delivery ids. Every delivery is claimed
(pending → sending) before it is sent, so a repeated or concurrent dispatch sends
nothing twice. Transient failures are retried by re-enqueueing only their ids with
exponential backoff and full jitter; permanent ones fail at once; a delivery out of
attempts goes dead.
"""

import logging

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db.models import Max

from .channels.base import Outcome, SendResult
from .channels.registry import get_channel
from .models import Delivery
from .selectors import delivery_list_for_send, pending_delivery_ids_for_chunk
from .services import deliveries_claim, deliveries_record_results

logger = logging.getLogger(__name__)


def max_attempts(channel_key: str) -> int:
    return settings.DELIVERY_MAX_ATTEMPTS.get(channel_key, settings.DELIVERY_MAX_ATTEMPTS_DEFAULT)


def retry_delay(retries: int) -> float:
    """Seconds before retry number `retries` + 1: exponential, capped, full jitter.
    The cap stays below the broker's visibility timeout."""
    return get_exponential_backoff_interval(
        factor=settings.DELIVERY_RETRY_BACKOFF_SECONDS,
        retries=retries,
        maximum=settings.DELIVERY_RETRY_BACKOFF_MAX_SECONDS,
        full_jitter=True,
    )


def deliveries_enqueue(*, channel: str, delivery_ids: list[int], countdown: float | None = None) -> None:
    """Send delivery ids to the channel's queue in batches the channel accepts."""
    from .tasks import dispatch_batch_task

    size = get_channel(channel).batch_size
    for start in range(0, len(delivery_ids), size):
        dispatch_batch_task.apply_async(
            (channel, delivery_ids[start : start + size]), queue=channel, countdown=countdown
        )


def deliveries_retry_later(*, channel: str, delivery_ids: list[int]) -> float:
    """Re-enqueue transiently failed deliveries after a delay that grows with their
    attempts (not the task's own retries: a batch may mix deliveries at different
    attempts, and a requeued delivery starts again). Returns the delay."""
    attempts = Delivery.objects.filter(pk__in=delivery_ids).aggregate(most=Max("attempts"))["most"] or 1
    delay = retry_delay(attempts - 1)
    deliveries_enqueue(channel=channel, delivery_ids=delivery_ids, countdown=delay)
    return delay


def enqueue_chunk_deliveries(*, event_id: int, after_user_id: int, upto_user_id: int | None) -> None:
    for channel, delivery_ids in pending_delivery_ids_for_chunk(
        event_id=event_id, after_user_id=after_user_id, upto_user_id=upto_user_id
    ):
        deliveries_enqueue(channel=channel, delivery_ids=delivery_ids)


def _send(channel, deliveries) -> list[SendResult]:
    """Render and send; a message that cannot be rendered fails permanently."""
    messages, results = [], []
    for delivery in deliveries:
        try:
            message = channel.render(delivery)
        except Exception as exc:  # a broken render must not hold up the batch
            logger.exception("rendering delivery %s failed", delivery.pk)
            message, error = None, f"render failed: {exc.__class__.__name__}: {exc}"
        else:
            error = f"no {channel.key} address for this person"
        if message is None:
            results.append(SendResult(delivery.pk, Outcome.PERMANENT, error=error))
        else:
            messages.append(message)
    if messages:
        try:
            results.extend(channel.send_batch(messages))
        except Exception as exc:  # the whole batch failed: classify once for all
            outcome = channel.classify(exc)
            logger.warning("%s batch of %d failed (%s): %s", channel.key, len(messages), outcome, exc)
            error = f"{exc.__class__.__name__}: {exc}"
            results.extend(SendResult(m.delivery_id, outcome, error=error) for m in messages)
    return results


def deliveries_dispatch(*, channel_key: str, delivery_ids: list[int]) -> dict[str, list[int]]:
    """Claim, send and record one batch. Returns ids by outcome (see
    deliveries_record_results); the caller re-enqueues `retry`."""
    channel = get_channel(channel_key)
    claimed = deliveries_claim(delivery_ids=delivery_ids)
    if not claimed:
        return {"sent": [], "retry": [], "failed": [], "dead": []}
    results = _send(channel, list(delivery_list_for_send(delivery_ids=claimed)))
    return deliveries_record_results(results=results, max_attempts=max_attempts(channel_key))
