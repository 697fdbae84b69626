"""The "support" (view only) and "operator" (may requeue and cancel) staff groups."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from apps.dashboard.groups import STAFF_GROUPS, staff_groups_ensure


def groups_create(apps, schema_editor):
    # Permissions are made after all migrations ran (post_migrate): make the ones the
    # groups name now, so a fresh database gets its groups in this same migrate.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    staff_groups_ensure(
        group_model=apps.get_model("auth", "Group"), permission_model=apps.get_model("auth", "Permission")
    )


def groups_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=STAFF_GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_delivery_dashboard"),
        ("delivery", "0006_dashboard_permissions_and_indexes"),
        ("notifications", "0005_recipient_addresses"),
        ("events", "0006_eventtype_self_service"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(groups_create, groups_delete)]
