"""Existing subscriptions under the access rule (apps.subscriptions.access).

Rows written before the rule cannot be told apart (a person's own, or a service's
through the preferences API), so each counts as the person's own, unless it is still an
untouched default. Those a person could not make now are deleted, not disabled: the
fan-out reaches disabled subscriptions of critical event types too, so a disabled row
would keep the leak open. A service restores a person's row it meant with
POST /api/v1/users/{id}/subscriptions/. See docs/security.md, "Who may subscribe".
"""

from django.db import migrations
from django.db.models import BigIntegerField, Exists, OuterRef, Q
from django.db.models.functions import Cast

SCENARIO = "scenarios.scenario"


def apply_access_rule(apps, schema_editor):
    Subscription = apps.get_model("subscriptions", "Subscription")
    Scenario = apps.get_model("scenarios", "Scenario")
    Subscription.objects.filter(is_default=True).update(origin="default")
    own = Subscription.objects.filter(origin="person")
    # Not self-service: only services subscribe people to it.
    not_self_service = own.filter(event_type__self_service=False)
    # One subject: only a scenario its person may see (theirs, or shared); no other
    # subject type is known to this service.
    visible_scenario = Scenario.objects.filter(
        Q(owner_id=OuterRef("user_id")) | Q(shared=True), pk=OuterRef("subject_id_number")
    )
    scenario_rows = (
        own.filter(subject_type=SCENARIO, subject_id__regex=r"^[0-9]{1,18}$")
        .annotate(subject_id_number=Cast("subject_id", BigIntegerField()))
        .annotate(visible=Exists(visible_scenario))
        .filter(visible=True)
        .values("pk")
    )
    not_visible = own.exclude(subject_type="").exclude(pk__in=scenario_rows)
    deleted = not_self_service.delete()[0] + not_visible.delete()[0]
    if deleted:
        print(f"\n  Deleted {deleted} subscriptions that break the access rule.")


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0004_subscription_origin_and_opt_out"),
        ("scenarios", "0004_scenario_event_types_self_service"),
    ]
    operations = [migrations.RunPython(apply_access_rule, migrations.RunPython.noop)]
