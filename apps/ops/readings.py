"""Readings of shared state that both /metrics and the operator alerts report: each
provider's circuit and each beat job's last success. Read only: looking changes no
circuit and takes no probe lease."""

from dataclasses import dataclass
from datetime import datetime

from apps.delivery.channels.registry import provider_names
from apps.delivery.resilience.circuit import CLOSED, provider_circuit

from .heartbeats import heartbeats


@dataclass(frozen=True)
class CircuitReading:
    provider: str
    channels: list[str]
    state: str  # closed | open | half_open
    failures: int
    # When the circuit last opened (Unix seconds), None when it is closed.
    opened_at: float | None


def circuit_readings() -> list[CircuitReading]:
    """Every provider's circuit breaker, as the workers share it in Redis."""
    readings = []
    for provider, channels in sorted(provider_names().items()):
        breaker = provider_circuit(provider)
        state = breaker.state()
        opened_at = None
        if state != CLOSED:
            opened_until = breaker.client.get(breaker.opened_until_key)
            opened_at = float(opened_until) - breaker.cooldown if opened_until is not None else None
        readings.append(CircuitReading(provider, channels, state, breaker.failures(), opened_at))
    return readings


@dataclass(frozen=True)
class PeriodicReading:
    pk: int
    name: str
    task: str
    interval_seconds: float
    last_success_at: datetime | None  # recorded by the worker (heartbeats.py)
    last_sent_at: datetime | None  # beat's own last_run_at: when it sent the task
    created_at: datetime


def periodic_readings() -> list[PeriodicReading]:
    """The enabled beat jobs on an interval, with when each last succeeded; one per task
    (successes are recorded per task), the one on the shortest interval."""
    from django_celery_beat.models import PeriodicTask

    succeeded = heartbeats()
    jobs = PeriodicTask.objects.filter(enabled=True, interval__isnull=False).select_related("interval")
    by_task: dict[str, PeriodicReading] = {}
    for job in jobs.order_by("name"):
        reading = PeriodicReading(
            pk=job.pk,
            name=job.name,
            task=job.task,
            interval_seconds=job.interval.schedule.run_every.total_seconds(),
            last_success_at=succeeded.get(job.task),
            last_sent_at=job.last_run_at,
            created_at=job.date_changed,
        )
        known = by_task.get(job.task)
        if known is None or reading.interval_seconds < known.interval_seconds:
            by_task[job.task] = reading
    return sorted(by_task.values(), key=lambda reading: reading.task)
