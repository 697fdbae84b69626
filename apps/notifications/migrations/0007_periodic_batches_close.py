from django.db import migrations

from apps.common.beat import periodic_tasks_ensure


def create_periodic_tasks(apps, schema_editor):
    # Creates the batching windows' close task (and any other default still missing).
    periodic_tasks_ensure(
        interval_model=apps.get_model("django_celery_beat", "IntervalSchedule"),
        task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
    )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0006_inbox_snoozed_until"), ("events", "0009_event_batching_windows")]
    operations = [migrations.RunPython(create_periodic_tasks, migrations.RunPython.noop)]
