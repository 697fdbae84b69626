from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Scenario
from .signals import scenario_executed


def scenario_create(*, owner, name: str, description: str = "", shared: bool = False) -> Scenario:
    return Scenario.objects.create(owner=owner, name=name, description=description, shared=shared)


@transaction.atomic
def scenario_execute(*, scenario: Scenario) -> Scenario:
    Scenario.objects.filter(pk=scenario.pk).update(
        execution_count=F("execution_count") + 1, last_executed_at=timezone.now()
    )
    scenario.refresh_from_db()
    scenario_executed.send(sender=Scenario, scenario=scenario)
    return scenario


def scenario_delete(*, scenario: Scenario) -> None:
    scenario.delete()


@transaction.atomic
def scenario_share_set(*, scenario: Scenario, shared: bool) -> Scenario:
    """Share a scenario (anyone may subscribe to its events) or stop sharing it."""
    was_shared, scenario.shared = scenario.shared, shared
    scenario.save(update_fields=["shared"])
    if was_shared and not shared:
        scenario_subscriptions_recheck(scenario=scenario)
    return scenario


def scenario_subscriptions_recheck(*, scenario: Scenario) -> int:
    """After the scenario stopped being shared: the others' subscriptions to it go."""
    from apps.subscriptions.services import subscriptions_revoke_for_subject

    from .visibility import SCENARIO_SUBJECT_TYPE

    return subscriptions_revoke_for_subject(subject_type=SCENARIO_SUBJECT_TYPE, subject_id=str(scenario.pk))
