"""Stored templates render with Jinja2 from now on: each version's Django-only syntax
is rewritten to its Jinja2 equivalent in place (same meaning; see
apps.templating.syntax). Versions stay one per change; none is added."""

from django.db import migrations

from apps.templating.syntax import django_to_jinja

FIELDS = ("subject", "body", "html")


def forwards(apps, schema_editor):
    TemplateVersion = apps.get_model("templating", "TemplateVersion")
    for version in TemplateVersion.objects.iterator():
        changed = [f for f in FIELDS if django_to_jinja(getattr(version, f)) != getattr(version, f)]
        for field in changed:
            setattr(version, field, django_to_jinja(getattr(version, field)))
        if changed:
            version.save(update_fields=changed)


class Migration(migrations.Migration):
    dependencies = [("templating", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
