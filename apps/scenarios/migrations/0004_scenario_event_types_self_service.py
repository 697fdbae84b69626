from django.db import migrations

from apps.scenarios.event_types import SCENARIO_EVENT_TYPES


def make_self_service(apps, schema_editor):
    """People subscribe themselves to a team's scenario events."""
    EventType = apps.get_model("events", "EventType")
    EventType.objects.filter(key__in=list(SCENARIO_EVENT_TYPES)).update(self_service=True)


class Migration(migrations.Migration):
    dependencies = [("scenarios", "0003_scenario_shared"), ("events", "0006_eventtype_self_service")]
    operations = [migrations.RunPython(make_self_service, migrations.RunPython.noop)]
