from django.db import migrations

OLD_RELEASE = "Scheduled sends: release due held deliveries"
RELEASE_DUE = "Release due: scheduled sends and held deliveries"


def one_release_job(apps, schema_editor):
    """scheduling.release_due now releases scheduled sends too: the second job goes, and
    the first takes a name that says so (keeping the operator's edits to its interval)."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task="notifications.scheduled_sends_release").delete()
    if PeriodicTask.objects.filter(name=RELEASE_DUE).exists():
        PeriodicTask.objects.filter(name=OLD_RELEASE).delete()
    else:
        PeriodicTask.objects.filter(name=OLD_RELEASE).update(name=RELEASE_DUE)


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0001_periodic_tasks_and_digest_type"),
        ("notifications", "0004_periodic_scheduled_sends"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(one_release_job, migrations.RunPython.noop)]
