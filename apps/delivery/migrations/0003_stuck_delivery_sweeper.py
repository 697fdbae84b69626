from django.db import migrations

from apps.common.beat import periodic_tasks_ensure_migration


class Migration(migrations.Migration):
    """Adds the stuck-delivery sweeper to the beat schedule."""

    dependencies = [("delivery", "0002_delivery_not_before"), ("events", "0002_periodic_tasks")]
    operations = [migrations.RunPython(periodic_tasks_ensure_migration, migrations.RunPython.noop)]
