from django.db import migrations

from apps.events.periodic import periodic_tasks_ensure


def create_periodic_tasks(apps, schema_editor):
    periodic_tasks_ensure(
        interval_model=apps.get_model("django_celery_beat", "IntervalSchedule"),
        task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
    )


def create_digest_event_type(apps, schema_editor):
    apps.get_model("events", "EventType").objects.get_or_create(
        key="digest", defaults={"name": "Digest", "description": "Several notifications of a window in one message."}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_eventtype_default_channels"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        migrations.RunPython(create_periodic_tasks, migrations.RunPython.noop),
        migrations.RunPython(create_digest_event_type, migrations.RunPython.noop),
    ]
