from django.db import migrations

from apps.common.beat import periodic_tasks_ensure


def create_periodic_tasks(apps, schema_editor):
    # Creates the scheduled-send release task (and any other default still missing).
    periodic_tasks_ensure(
        interval_model=apps.get_model("django_celery_beat", "IntervalSchedule"),
        task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
    )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_direct_sends"), ("events", "0002_periodic_tasks")]
    operations = [migrations.RunPython(create_periodic_tasks, migrations.RunPython.noop)]
