from django.db import migrations

from apps.common.beat import periodic_tasks_ensure_migration


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
        migrations.RunPython(periodic_tasks_ensure_migration, migrations.RunPython.noop),
        migrations.RunPython(create_digest_event_type, migrations.RunPython.noop),
    ]
