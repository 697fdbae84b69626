from django.db import migrations

from apps.scenarios.event_types import SCENARIO_EVENT_TYPES


def create_event_types(apps, schema_editor):
    EventType = apps.get_model("events", "EventType")
    for key, name in SCENARIO_EVENT_TYPES.items():
        EventType.objects.get_or_create(key=key, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("scenarios", "0001_initial"), ("events", "0001_initial")]
    operations = [migrations.RunPython(create_event_types, migrations.RunPython.noop)]
