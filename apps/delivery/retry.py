"""The delivery retry policy, in one place: how many attempts a channel gets, how long
to wait after a failed one, and how long a countdown may be. Dispatch, the recovery of
orphans and the sweeper all ask here."""

import math
import random

from django.conf import settings


def max_attempts(channel_key: str) -> int:
    return settings.DELIVERY_MAX_ATTEMPTS.get(channel_key, settings.DELIVERY_MAX_ATTEMPTS_DEFAULT)


def out_of_attempts(channel_key: str, attempts: int) -> bool:
    return attempts >= max_attempts(channel_key)


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): exponential,
    capped, jittered over the upper half of the step.

    Jitter spreads retries of many deliveries so they do not hit a recovering provider
    together; keeping it within [step/2, step] (rather than [0, step]) guarantees each
    wait is at least as long as the previous one's floor, so a struggling provider gets
    more room on every attempt and never an immediate retry.
    """
    return jittered_backoff(
        attempt, first=settings.DELIVERY_RETRY_BACKOFF_SECONDS, cap=settings.DELIVERY_RETRY_BACKOFF_MAX_SECONDS
    )


def jittered_backoff(attempt: int, *, first: float, cap: float) -> float:
    """`first` doubled per failed attempt after the first, at most `cap`, jittered over
    the upper half of that step (see retry_delay for why the upper half)."""
    ceiling = min(cap, first * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def retry_countdown(*, attempts: int, at_least: float = 0.0) -> float:
    """The wait before retrying a delivery that has made `attempts` attempts, never
    shorter than what the provider asked for (Retry-After)."""
    return max(retry_delay(attempts), at_least)


def capped_countdown(seconds: float | None) -> float | None:
    """Countdowns stay below the broker's visibility timeout (long ETAs get redelivered),
    in whole seconds, rounded up: on RabbitMQ a countdown waits in the broker (Celery's
    native delayed delivery), which counts whole seconds and refuses one under a second."""
    if not seconds or seconds <= 0:
        return None
    return float(math.ceil(min(float(seconds), settings.DELIVERY_RETRY_BACKOFF_MAX_SECONDS)))
