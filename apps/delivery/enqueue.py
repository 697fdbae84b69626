"""Putting delivery ids on their channel's queue. Callers inside a transaction wrap
this in transaction.on_commit: a worker must never see ids before they are committed."""

import random

from django.conf import settings

from .channels.registry import get_channel


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): exponential,
    capped, jittered over the upper half of the step.

    Jitter spreads retries of many deliveries so they do not hit a recovering provider
    together; keeping it within [step/2, step] (rather than [0, step]) guarantees each
    wait is at least as long as the previous one's floor, so a struggling provider gets
    more room on every attempt and never an immediate retry.
    """
    ceiling = min(
        settings.DELIVERY_RETRY_BACKOFF_MAX_SECONDS, settings.DELIVERY_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempt - 1)
    )
    return random.uniform(ceiling / 2, ceiling)


def capped_countdown(seconds: float | None) -> float | None:
    """Countdowns stay below the broker's visibility timeout (long ETAs get redelivered)."""
    if not seconds or seconds <= 0:
        return None
    return min(float(seconds), settings.DELIVERY_RETRY_BACKOFF_MAX_SECONDS)


def deliveries_enqueue(*, channel: str, delivery_ids: list[int], countdown: float | None = None) -> None:
    """Send delivery ids to the channel's queue in batches the channel accepts."""
    from .tasks import dispatch_batch_task

    size = get_channel(channel).batch_size
    countdown = capped_countdown(countdown)
    for start in range(0, len(delivery_ids), size):
        dispatch_batch_task.apply_async(
            (channel, delivery_ids[start : start + size]), queue=channel, countdown=countdown
        )
