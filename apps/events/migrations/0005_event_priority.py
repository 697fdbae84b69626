from django.db import migrations, models


def priorities_backfill(apps, schema_editor):
    """Critical types default to critical; events already recorded take their send's
    priority (a direct send's, else their type's), so held and retried work keeps it."""
    EventType = apps.get_model("events", "EventType")
    Event = apps.get_model("events", "Event")
    EventType.objects.filter(critical=True).update(default_priority="critical")
    Event.objects.filter(event_type__critical=True, direct_send__isnull=True).update(priority="critical")
    for priority in ("critical", "high", "low"):
        Event.objects.filter(direct_send__priority=priority).update(priority=priority)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0004_event_correlation_id"),
        ("notifications", "0003_direct_sends"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="priority",
            field=models.CharField(
                choices=[("critical", "Critical"), ("high", "High"), ("normal", "Normal"), ("low", "Low")],
                default="normal",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="eventtype",
            name="default_priority",
            field=models.CharField(
                choices=[("critical", "Critical"), ("high", "High"), ("normal", "Normal"), ("low", "Low")],
                default="normal",
                max_length=10,
            ),
        ),
        migrations.RunPython(priorities_backfill, migrations.RunPython.noop),
    ]
