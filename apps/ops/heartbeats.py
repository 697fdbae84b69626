"""When each beat job last succeeded, recorded by the worker that ran it (a Celery
signal: observing, like the metrics), read by the "beat job late" alert and /metrics."""

import functools

from django.utils import timezone

from apps.common.beat import default_periodic_tasks

from .models import PeriodicHeartbeat


@functools.cache
def periodic_task_names() -> frozenset[str]:
    """The tasks the apps run on beat (their periodic.py), the ones worth a heartbeat."""
    return frozenset(task for task, _, _ in default_periodic_tasks().values())


def heartbeat_record(task: str, at=None) -> None:
    PeriodicHeartbeat.objects.update_or_create(task=task, defaults={"last_success_at": at or timezone.now()})


def heartbeats() -> dict[str, object]:
    """task name → its last success (an aware datetime)."""
    return dict(PeriodicHeartbeat.objects.values_list("task", "last_success_at"))
