"""The status webhook relay's tasks: beat finds the due endpoints, and each gets a task
of its own, so a slow or failing receiver holds up no other endpoint."""

from celery import shared_task
from django.utils import timezone

from apps.common.retry import DATABASE_OUTAGE_RETRY

from .relay import status_webhook_run
from .selectors import status_history_horizon, status_webhooks_due
from .services import status_webhooks_lease


@shared_task(name="integrations.status_webhooks_relay", **DATABASE_OUTAGE_RETRY)
def status_webhooks_relay_task() -> dict:
    """Lease every due endpoint and hand each to its own run."""
    now = timezone.now()
    due = status_webhooks_due(now=now, horizon=status_history_horizon(now=now))
    leased = status_webhooks_lease(endpoint_ids=due, now=now)
    for endpoint_id in leased:
        status_webhook_run_task.delay(endpoint_id)
    return {"due": len(due), "leased": len(leased)}


@shared_task(name="integrations.status_webhook_run", **DATABASE_OUTAGE_RETRY)
def status_webhook_run_task(endpoint_id: int) -> dict:
    return status_webhook_run(endpoint_id=endpoint_id).as_dict()
