"""Gauges computed when Prometheus scrapes: they describe shared state (the broker's queues,
the delivery table), so reading it once per scrape is right in any number of
processes, and no process has to keep them up to date."""

import logging

from django.conf import settings
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from apps.common.channels import EXTERNAL_CHANNELS
from apps.delivery.models import Delivery, DeliveryStatus

from . import broker

logger = logging.getLogger(__name__)


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

    def __init__(self, broker_url: str | None = None):
        self.broker_url = broker_url

    def collect(self):
        errors = GaugeMetricFamily(
            "notifications_scrape_error", "1 when a source could not be read in this scrape.", labels=["source"]
        )
        try:
            queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
            depth = GaugeMetricFamily("celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"])
            for queue, length in broker.queue_depths(queues, self.broker_url).items():
                depth.add_metric([queue], length)
            held = broker.unacked_messages(self.broker_url)
            yield depth
            if held is not None:  # RabbitMQ does not tell (see broker.unacked_messages)
                unacked = GaugeMetricFamily(
                    "celery_unacked_messages", "Messages taken by workers and not yet acknowledged."
                )
                unacked.add_metric([], held)
                yield unacked
            errors.add_metric(["broker"], 0)
        except broker.BROKER_ERRORS:
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
