"""Gauges computed when Prometheus scrapes: they describe shared state (the broker's queues,
the delivery table), so reading it once per scrape is right in any number of
processes, and no process has to keep them up to date."""

import logging

import redis
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from apps.common.channels import EXTERNAL_CHANNELS
from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.resilience.circuit import CLOSED

from . import broker
from .readings import circuit_readings, periodic_readings

logger = logging.getLogger(__name__)


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

    def __init__(self, broker_url: str | None = None):
        self.broker_url = broker_url

    def collect(self):
        errors = GaugeMetricFamily(
            "notifications_scrape_error", "1 when a source could not be read in this scrape.", labels=["source"]
        )
        for source, read, failure in (
            ("broker", self._broker, broker.BROKER_ERRORS),
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
        queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
        depth = GaugeMetricFamily("celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"])
        for queue, length in broker.queue_depths(queues, self.broker_url).items():
            depth.add_metric([queue], length)
        yield depth
        ages = broker.queue_oldest_ages(queues, self.broker_url)
        if ages is not None:  # RabbitMQ does not tell (see broker.queue_oldest_ages)
            oldest = GaugeMetricFamily(
                "celery_queue_oldest_message_seconds",
                "Seconds the oldest message of a Celery queue has waited (0 when it is empty).",
                labels=["queue"],
            )
            for queue, seconds in ages.items():
                oldest.add_metric([queue], seconds)
            yield oldest
        held = broker.unacked_messages(self.broker_url)
        if held is not None:  # nor this (see broker.unacked_messages)
            unacked = GaugeMetricFamily(
                "celery_unacked_messages", "Messages taken by workers and not yet acknowledged."
            )
            unacked.add_metric([], held)
            yield unacked

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
