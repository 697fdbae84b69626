"""Thin receivers: each turns a model signal into one event_publish call."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.events.subjects import subject_of
from apps.notifications.publish import event_publish

from .event_types import SCENARIO_CREATED, SCENARIO_DELETED, SCENARIO_EXECUTED
from .models import Scenario
from .signals import scenario_executed


def _data(scenario):
    return {"scenario_id": scenario.pk, "name": scenario.name, "owner": scenario.owner.get_username()}


@receiver(post_save, sender=Scenario, dispatch_uid="scenarios.created")
def publish_created(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        event_publish(
            event_type=SCENARIO_CREATED,
            subject=subject_of(instance),
            actor=instance.owner,
            data=_data(instance),
            idempotency_key=f"{SCENARIO_CREATED}:{instance.pk}",
        )


@receiver(scenario_executed, dispatch_uid="scenarios.executed")
def publish_executed(sender, scenario, **kwargs):
    event_publish(
        event_type=SCENARIO_EXECUTED,
        subject=subject_of(scenario),
        actor=scenario.owner,
        data={**_data(scenario), "execution": scenario.execution_count},
        idempotency_key=f"{SCENARIO_EXECUTED}:{scenario.pk}:{scenario.execution_count}",
    )


@receiver(post_delete, sender=Scenario, dispatch_uid="scenarios.deleted")
def publish_deleted(sender, instance, **kwargs):
    event_publish(
        event_type=SCENARIO_DELETED,
        subject=subject_of(instance),
        actor=instance.owner,
        data=_data(instance),
        idempotency_key=f"{SCENARIO_DELETED}:{instance.pk}",
    )
