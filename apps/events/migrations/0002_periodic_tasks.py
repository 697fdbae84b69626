from django.db import migrations

from apps.common.beat import periodic_tasks_ensure


def create_periodic_tasks(apps, schema_editor):
    periodic_tasks_ensure(
        interval_model=apps.get_model("django_celery_beat", "IntervalSchedule"),
        task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
    )


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_periodic_tasks, migrations.RunPython.noop)]
