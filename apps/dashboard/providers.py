"""What the delivery dashboard reads: each provider's circuit breaker and rate-limit
headroom (Redis), and the depth of each Celery queue (the broker, Redis or RabbitMQ).
Read only: looking spends no tokens and takes no probe lease. An unreachable Redis or
broker gives None, never an error page."""

import logging
from dataclasses import dataclass

import redis
from django.conf import settings

from apps.delivery.channels.registry import provider_names
from apps.delivery.resilience.circuit import provider_circuit
from apps.delivery.resilience.ratelimit import provider_bucket
from apps.ops import broker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProviderState:
    name: str
    channels: list[str]
    circuit: str | None  # closed | open | half_open; None when Redis could not be read
    failures: int | None
    # None when the provider has no rate limit (PROVIDER_RATE_LIMITS) or Redis failed.
    rate_per_second: float | None
    tokens_available: float | None
    capacity: float | None


def provider_states() -> list[ProviderState]:
    states = []
    for name, channels in sorted(provider_names().items()):
        circuit = failures = tokens = None
        bucket = provider_bucket(name)
        try:
            breaker = provider_circuit(name)
            circuit, failures = breaker.state(), breaker.failures()
            tokens = bucket.available() if bucket else None
        except redis.RedisError:
            logger.warning("dashboard: circuit or rate-limit state of %s unreadable", name, exc_info=True)
        states.append(
            ProviderState(
                name=name,
                channels=channels,
                circuit=circuit,
                failures=failures,
                rate_per_second=bucket.rate if bucket else None,
                tokens_available=tokens,
                capacity=bucket.capacity if bucket else None,
            )
        )
    return states


def queue_depth_by_queue() -> dict[str, int] | None:
    """Messages waiting per Celery queue (the metrics collector's reading of the
    broker), or None when the broker cannot be read within two seconds."""
    try:
        return broker.queue_depths([queue.name for queue in settings.CELERY_TASK_QUEUES])
    except broker.BROKER_ERRORS:
        logger.warning("dashboard: broker unreachable for queue depth", exc_info=True)
        return None
