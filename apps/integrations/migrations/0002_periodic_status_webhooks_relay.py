from django.db import migrations

from apps.common.beat import periodic_tasks_ensure_migration


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_status_webhook_endpoints"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(periodic_tasks_ensure_migration, migrations.RunPython.noop)]
