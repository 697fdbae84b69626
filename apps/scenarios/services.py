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
