"""Beat's schedule lives in the database (django-celery-beat) so operators can edit it
in the admin. Each app declares its own periodic tasks next to its tasks, in
`<app>/periodic.py` (`periodic_tasks()`: name → (task, every N seconds, queue)); this
module gathers them from the installed apps and creates the missing ones idempotently."""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps as django_apps


def default_periodic_tasks() -> dict[str, tuple[str, int, str]]:
    """Every installed app's declared periodic tasks."""
    declared = {}
    for config in django_apps.get_app_configs():
        if find_spec(f"{config.name}.periodic") is None:
            continue
        declared.update(import_module(f"{config.name}.periodic").periodic_tasks())
    return declared


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
