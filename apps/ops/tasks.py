"""The ops app's beat job: evaluating the operator alerts."""

from celery import shared_task
from django.conf import settings

from apps.scheduling.locks import periodic_run

from .alerts.evaluate import alerts_evaluate


@shared_task(name="ops.alerts_evaluate")
def alerts_evaluate_task() -> dict:
    # Two beats, one evaluation per slot; the incident rows' locks do the rest.
    with periodic_run("ops.alerts_evaluate", settings.ALERT_EVALUATE_INTERVAL_SECONDS) as owned:
        return alerts_evaluate() if owned else {"skipped": True}
