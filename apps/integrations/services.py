"""What writes status webhook endpoints: registration, removal, and the relay's
bookkeeping (lease, cursor, backoff). Cursor moves are conditional on the cursor the
run read, so a run that lost its endpoint to another can never move it back."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.accounts.services import webhook_secret_generate
from apps.common.models import ApiKey
from apps.delivery.retry import jittered_backoff

from .models import StatusWebhookEndpoint
from .selectors import status_history_last_id

# Each endpoint costs the relay a scan of the history per run.
MAX_STATUS_WEBHOOKS_PER_API_KEY = 10


def status_webhook_create(*, api_key: ApiKey, url: str) -> StatusWebhookEndpoint:
    """An endpoint that receives the key's status changes from now on. The new secret
    is on the returned endpoint; show it to its owner once."""
    with transaction.atomic():
        # Locks the key's row so two concurrent creates cannot both pass the limit.
        ApiKey.objects.select_for_update().filter(pk=api_key.pk).first()
        if StatusWebhookEndpoint.objects.filter(api_key=api_key).count() >= MAX_STATUS_WEBHOOKS_PER_API_KEY:
            raise ValidationError(f"At most {MAX_STATUS_WEBHOOKS_PER_API_KEY} status webhooks per API key.")
        return StatusWebhookEndpoint.objects.create(
            api_key=api_key, url=url, secret=webhook_secret_generate(), cursor=status_history_last_id()
        )


def status_webhook_delete(*, endpoint: StatusWebhookEndpoint) -> None:
    endpoint.delete()


def _lease_seconds() -> float:
    """Long enough for a whole run, each request at its deadline; a run whose worker
    died is taken up again once it is over."""
    return settings.STATUS_WEBHOOK_BATCHES_PER_RUN * settings.OUTBOUND_REQUEST_DEADLINE_SECONDS + 60


def status_webhooks_lease(*, endpoint_ids: list[int], now: datetime) -> list[int]:
    """Hold each endpoint no run holds; returns those now held for the caller."""
    free = Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    until = now + timedelta(seconds=_lease_seconds())
    return [
        endpoint_id
        for endpoint_id in endpoint_ids
        if StatusWebhookEndpoint.objects.filter(free, pk=endpoint_id).update(leased_until=until)
    ]


def status_webhook_release(*, endpoint_id: int) -> None:
    StatusWebhookEndpoint.objects.filter(pk=endpoint_id).update(leased_until=None)


def status_webhook_advance(*, endpoint: StatusWebhookEndpoint, after: int, upto: int) -> bool:
    """The receiver has everything up to `upto` (or none of it was its business): move
    the cursor, forget the failures. False when another run moved it meanwhile."""
    moved = StatusWebhookEndpoint.objects.filter(pk=endpoint.pk, cursor=after).update(
        cursor=upto, pending_upto=None, attempts=0, next_try_at=None, last_error=""
    )
    if moved:
        endpoint.cursor, endpoint.pending_upto, endpoint.attempts = upto, None, 0
    return bool(moved)


def status_webhook_fail(*, endpoint: StatusWebhookEndpoint, after: int, upto: int, error: str) -> float:
    """The batch (after, upto] failed: keep it for the retry, back off. Returns the wait."""
    attempts = endpoint.attempts + 1
    wait = jittered_backoff(
        attempts, first=settings.STATUS_WEBHOOK_BACKOFF_SECONDS, cap=settings.STATUS_WEBHOOK_BACKOFF_MAX_SECONDS
    )
    StatusWebhookEndpoint.objects.filter(pk=endpoint.pk, cursor=after).update(
        pending_upto=upto,
        attempts=F("attempts") + 1,
        next_try_at=timezone.now() + timedelta(seconds=wait),
        last_error=error[:2000],
    )
    return wait
