"""Gauges computed when Prometheus scrapes: they describe shared state (Redis queues,
the delivery table), so reading it once per scrape is right in any number of
processes, and no process has to keep them up to date."""

import json
import logging
import time

import redis
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from apps.common.channels import EXTERNAL_CHANNELS
from apps.common.redis_clients import redis_client
from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.resilience.circuit import CLOSED

from .celery_signals import PUBLISHED_AT_HEADER
from .readings import circuit_readings, periodic_readings

logger = logging.getLogger(__name__)

# Kombu's Redis transport keeps a queue's prioritised messages in sibling lists named
# queue + separator + priority step; priority 0 is the queue name itself.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
UNACKED_KEY = "unacked"


def queue_keys(queue: str) -> list[str]:
    return [queue, *(f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS)]


def queue_depths(client: redis.Redis, queues: list[str]) -> dict[str, int]:
    """Messages waiting in each Celery queue (LLEN, all priority lists added up)."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for key in queue_keys(queue):
            pipe.llen(key)
    lengths = iter(pipe.execute())
    return {queue: sum(next(lengths) for _ in queue_keys(queue)) for queue in queues}


def _published_at(raw: bytes | None) -> float | None:
    if raw is None:
        return None
    try:
        stamp = json.loads(raw).get("headers", {}).get(PUBLISHED_AT_HEADER)
        return float(stamp) if stamp is not None else None
    except (ValueError, TypeError, AttributeError):
        return None  # not a Celery message of ours, or published before the header was


def queue_oldest_ages(client: redis.Redis, queues: list[str], now: float | None = None) -> dict[str, float]:
    """Seconds the oldest message of each queue has waited (0 when it is empty or its
    oldest message does not say when it was published). Kombu's Redis transport pushes
    on the left and takes from the right, so each list's oldest is its last element."""
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for key in queue_keys(queue):
            pipe.lindex(key, -1)
    tails = iter(pipe.execute())
    ages = {}
    for queue in queues:
        stamps = [s for s in (_published_at(next(tails)) for _ in queue_keys(queue)) if s is not None]
        ages[queue] = max(now - min(stamps), 0.0) if stamps else 0.0
    return ages


def oldest_pending_ages(now=None) -> dict[str, float]:
    """Per external channel, seconds since the oldest pending delivery that is due became
    pending (0 when none is). One index seek per channel on (status, channel, updated_at)."""
    now = now or timezone.now()
    ages = {}
    # Held deliveries (quiet hours, digests, scheduled sends) are not waiting yet.
    due = Q(not_before__isnull=True) | Q(not_before__lte=now)
    for channel in EXTERNAL_CHANNELS:
        oldest = (
            Delivery.objects.filter(due, status=DeliveryStatus.PENDING, channel=channel)
            .order_by("updated_at")
            .values_list("updated_at", flat=True)
            .first()
        )
        ages[str(channel)] = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    return ages


class ScrapeTimeCollector:
    """Queue depth and the age of each queue's oldest message, unacknowledged messages,
    the age of the oldest pending delivery, each provider's circuit and each beat job's
    last success. A failing source drops its gauges from this scrape and sets
    notifications_scrape_error, so /metrics itself keeps answering."""

    def __init__(self, redis_url: str | None = None):
        self.redis_url = redis_url or settings.CELERY_BROKER_URL

    def collect(self):
        errors = GaugeMetricFamily(
            "notifications_scrape_error", "1 when a source could not be read in this scrape.", labels=["source"]
        )
        for source, read, failure in (
            ("broker", self._broker, redis.RedisError),
            ("circuits", self._circuits, redis.RedisError),
            ("database", self._database, Exception),  # any database error: the scrape still answers
        ):
            try:
                families = list(read())
            except failure:
                logger.warning("metrics: %s unreadable", source, exc_info=True)
                errors.add_metric([source], 1)
                continue
            yield from families
            errors.add_metric([source], 0)
        yield errors

    def _broker(self):
        # A scrape must answer quickly even when the broker does not.
        client = redis_client("metrics", url=self.redis_url, socket_timeout=2)
        queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
        depth = GaugeMetricFamily("celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"])
        for queue, length in queue_depths(client, queues).items():
            depth.add_metric([queue], length)
        oldest = GaugeMetricFamily(
            "celery_queue_oldest_message_seconds",
            "Seconds the oldest message of a Celery queue has waited (0 when it is empty).",
            labels=["queue"],
        )
        for queue, seconds in queue_oldest_ages(client, queues).items():
            oldest.add_metric([queue], seconds)
        unacked = GaugeMetricFamily("celery_unacked_messages", "Messages taken by workers and not yet acknowledged.")
        unacked.add_metric([], client.hlen(UNACKED_KEY))
        return depth, oldest, unacked

    def _circuits(self):
        circuit = GaugeMetricFamily(
            "notifications_circuit_open",
            "1 while a provider's circuit breaker is open or half-open (calls held back), 0 when closed.",
            labels=["provider"],
        )
        for reading in circuit_readings():
            circuit.add_metric([reading.provider], 0 if reading.state == CLOSED else 1)
        return (circuit,)

    def _database(self):
        age = GaugeMetricFamily(
            "notifications_oldest_pending_delivery_seconds",
            "Age of the oldest pending delivery that is due, per channel (0 when none is).",
            labels=["channel"],
        )
        for channel, seconds in oldest_pending_ages().items():
            age.add_metric([channel], seconds)
        success = GaugeMetricFamily(
            "notifications_periodic_task_last_success_timestamp_seconds",
            "Unix time of a beat job's last successful run (absent before its first).",
            labels=["task"],
        )
        interval = GaugeMetricFamily(
            "notifications_periodic_task_interval_seconds", "A beat job's interval.", labels=["task"]
        )
        for job in periodic_readings():
            interval.add_metric([job.task], job.interval_seconds)
            if job.last_success_at is not None:
                success.add_metric([job.task], job.last_success_at.timestamp())
        return age, success, interval
