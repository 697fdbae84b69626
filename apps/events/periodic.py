"""The beat schedule lives in the database (django-celery-beat) so operators can edit
it in the admin; this module declares the defaults and creates them idempotently."""

from django.conf import settings


def default_periodic_tasks():
    """name → (task, every N seconds, queue)"""
    return {
        "Outbox relay: re-drive unfinished fan-outs": (
            "events.outbox_relay",
            settings.OUTBOX_RELAY_INTERVAL_SECONDS,
            "maintenance",
        ),
        "Scheduled sends: release the due ones": (
            "notifications.scheduled_sends_release",
            settings.SCHEDULED_SEND_SCAN_SECONDS,
            "maintenance",
        ),
    }


def periodic_tasks_ensure(*, interval_model=None, task_model=None) -> int:
    """Create missing periodic tasks; existing ones keep the operator's edits."""
    if interval_model is None:
        from django_celery_beat.models import IntervalSchedule as interval_model
        from django_celery_beat.models import PeriodicTask as task_model
    created = 0
    for name, (task, seconds, queue) in default_periodic_tasks().items():
        schedule, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
        _, was_created = task_model.objects.get_or_create(
            name=name, defaults={"task": task, "interval": schedule, "queue": queue}
        )
        created += was_created
    return created
