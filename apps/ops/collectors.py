"""Gauges computed when Prometheus scrapes: they describe shared state (Redis queues,
the delivery table), so reading it once per scrape is right in any number of
processes, and no process has to keep them up to date."""

import logging

import redis
from django.conf import settings
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from apps.common.channels import EXTERNAL_CHANNELS
from apps.common.redis_clients import redis_client
from apps.delivery.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

# Kombu's Redis transport keeps a queue's prioritised messages in sibling lists named
# queue + separator + priority step; priority 0 is the queue name itself.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
UNACKED_KEY = "unacked"


def _queue_keys(queue: str) -> list[str]:
    return [queue, *(f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS)]


def queue_depths(client: redis.Redis, queues: list[str]) -> dict[str, int]:
    """Messages waiting in each Celery queue (LLEN, all priority lists added up)."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for key in _queue_keys(queue):
            pipe.llen(key)
    lengths = iter(pipe.execute())
    return {queue: sum(next(lengths) for _ in _queue_keys(queue)) for queue in queues}


def oldest_pending_ages(now=None) -> dict[str, float]:
    """Per external channel, seconds since the oldest pending delivery became pending
    (0 when none is). One index seek per channel on (status, channel, updated_at)."""
    now = now or timezone.now()
    ages = {}
    for channel in EXTERNAL_CHANNELS:
        oldest = (
            Delivery.objects.filter(status=DeliveryStatus.PENDING, channel=channel)
            .order_by("updated_at")
            .values_list("updated_at", flat=True)
            .first()
        )
        ages[str(channel)] = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    return ages


class ScrapeTimeCollector:
    """Queue depth per Celery queue, unacknowledged messages, and the age of the
    oldest pending delivery. A failing source drops its gauges from this scrape and
    sets notifications_scrape_error, so /metrics itself keeps answering."""

    def __init__(self, redis_url: str | None = None):
        self.redis_url = redis_url or settings.CELERY_BROKER_URL

    def collect(self):
        errors = GaugeMetricFamily(
            "notifications_scrape_error", "1 when a source could not be read in this scrape.", labels=["source"]
        )
        try:
            # A scrape must answer quickly even when the broker does not.
            client = redis_client("metrics", url=self.redis_url, socket_timeout=2)
            queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
            depth = GaugeMetricFamily("celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"])
            for queue, length in queue_depths(client, queues).items():
                depth.add_metric([queue], length)
            unacked = GaugeMetricFamily(
                "celery_unacked_messages", "Messages taken by workers and not yet acknowledged."
            )
            unacked.add_metric([], client.hlen(UNACKED_KEY))
            yield depth
            yield unacked
            errors.add_metric(["broker"], 0)
        except redis.RedisError:
            logger.warning("metrics: broker unreachable for queue depth", exc_info=True)
            errors.add_metric(["broker"], 1)
        try:
            age = GaugeMetricFamily(
                "notifications_oldest_pending_delivery_seconds",
                "Age of the oldest pending delivery per channel (0 when none is pending).",
                labels=["channel"],
            )
            for channel, seconds in oldest_pending_ages().items():
                age.add_metric([channel], seconds)
            yield age
            errors.add_metric(["database"], 0)
        except Exception:  # any database error: the scrape still answers
            logger.warning("metrics: database unreachable for pending deliveries", exc_info=True)
            errors.add_metric(["database"], 1)
        yield errors
