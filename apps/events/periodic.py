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
        "Delivery sweeper: recover stuck and stale deliveries": (
            "delivery.sweep_stuck",
            settings.DELIVERY_SWEEP_INTERVAL_SECONDS,
            "maintenance",
        ),
        "Scheduled sends: release due held deliveries": (
            "scheduling.release_due",
            settings.SCHEDULED_RELEASE_INTERVAL_SECONDS,
            "maintenance",
        ),
        "Digests: build the closed windows": (
            "scheduling.digests_build",
            settings.DIGEST_INTERVAL_SECONDS,
            "maintenance",
        ),
        "Retention: purge old inbox items and delivery history": (
            "scheduling.retention_purge",
            settings.RETENTION_INTERVAL_SECONDS,
            "maintenance",
        ),
        "Scheduled sends: release the due ones": (
            "notifications.scheduled_sends_release",
            settings.SCHEDULED_SEND_SCAN_SECONDS,
            "maintenance",
        ),
    }


def registered_task_names() -> set[str]:
    """Every task the Celery app knows, its modules imported (as a worker would)."""
    from notifications_project.celery import app

    app.loader.import_default_modules()
    return set(app.tasks)


def periodic_tasks_ensure(*, interval_model=None, task_model=None) -> int:
    """Create missing periodic tasks; existing ones keep the operator's edits."""
    if interval_model is None:
        from django_celery_beat.models import IntervalSchedule as interval_model
        from django_celery_beat.models import PeriodicTask as task_model
    created = 0
    known = registered_task_names()
    for name, (task, seconds, queue) in default_periodic_tasks().items():
        if task not in known:
            continue  # a task of a part not installed: no schedule that would only fail
        schedule, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
        _, was_created = task_model.objects.get_or_create(
            name=name, defaults={"task": task, "interval": schedule, "queue": queue}
        )
        created += was_created
    return created


def periodic_tasks_ensure_migration(apps, schema_editor) -> None:
    """RunPython body for data migrations that add default periodic tasks."""
    periodic_tasks_ensure(
        interval_model=apps.get_model("django_celery_beat", "IntervalSchedule"),
        task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
    )
