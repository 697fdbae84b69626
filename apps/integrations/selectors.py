"""What the status webhook relay reads: a service's endpoints, which are due, and the
delivery history of that service's sends and events after an endpoint's cursor."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from apps.delivery.models import DeliveryEvent

from .models import StatusWebhookEndpoint

# Changes in one request.
BATCH_SIZE = 100
# History rows one query looks through: a service with few sends on a busy system still
# costs bounded index range scans, never a walk of the whole history in one statement.
SCAN_WINDOW = 10_000
# Windows one batch may look through before it is cut short (it then ends where the
# scan stopped, so the next batch goes on from there).
MAX_WINDOWS = 50
# History rows that say how a delivery was made, not what became of it.
NOT_STATUS_CHANGES = ("template_fallback",)


def status_webhook_list(*, api_key):
    return StatusWebhookEndpoint.objects.filter(api_key=api_key).order_by("id")


def status_webhook_get(*, api_key, endpoint_id: int) -> StatusWebhookEndpoint:
    return status_webhook_list(api_key=api_key).get(pk=endpoint_id)


def status_history_last_id() -> int:
    """The newest delivery history id: where a new endpoint starts (changes from now on)."""
    return DeliveryEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def status_history_horizon(*, now: datetime) -> int:
    """The history id up to which changes are settled: the newest row older than
    STATUS_WEBHOOK_SETTLE_SECONDS. A younger row's transaction may still be committing
    beside one that took a lower id, so the cursor stops short of it."""
    cutoff = now - timedelta(seconds=settings.STATUS_WEBHOOK_SETTLE_SECONDS)
    settled = DeliveryEvent.objects.filter(at__lte=cutoff).order_by("-at", "-id")
    return settled.values_list("id", flat=True).first() or 0


def status_webhooks_due(*, now: datetime, horizon: int) -> list[int]:
    """Endpoints of keys not revoked with something to send (a failed batch, or history
    past their cursor) whose backoff is over and that no run holds."""
    return list(
        StatusWebhookEndpoint.objects.filter(api_key__revoked_at__isnull=True)
        .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .filter(Q(pending_upto__isnull=False) | Q(cursor__lt=horizon))
        .order_by("next_try_at", "id")
        .values_list("id", flat=True)
    )


@dataclass(frozen=True)
class StatusBatch:
    """The changes after `after` up to and including history id `upto`."""

    endpoint_id: int
    after: int
    upto: int
    changes: list[dict]

    @property
    def webhook_id(self) -> str:
        # The same batch has the same id on every retry: the receiver drops a repeat.
        return f"sts_{self.endpoint_id}_{self.after}_{self.upto}"


def _changes_in(*, api_key_id: int, after: int, upto: int, limit: int) -> list[tuple[int, dict]]:
    """(history id, change) of the service's changes in (after, upto], oldest first."""
    owned = Q(delivery__notification__event__api_key_id=api_key_id) | Q(
        delivery__notification__event__direct_send__api_key_id=api_key_id
    )
    rows = (
        DeliveryEvent.objects.filter(id__gt=after, id__lte=upto)
        .filter(owned)
        .exclude(status__in=NOT_STATUS_CHANGES)
        .order_by("id")
        .values(
            "id",
            "delivery_id",
            "status",
            "at",
            "delivery__channel",
            "delivery__notification__event_id",
            "delivery__notification__event__direct_send__id",
            "delivery__notification__user_id",
            "delivery__notification__user__username",
            "delivery__notification__address",
        )
    )
    return [(row["id"], _change(row)) for row in rows[:limit]]


def _change(row: dict) -> dict:
    return {
        "id": f"dse_{row['id']}",
        "send_id": row["delivery__notification__event__direct_send__id"],
        "event_id": row["delivery__notification__event_id"],
        "delivery_id": row["delivery_id"],
        "channel": row["delivery__channel"],
        "recipient": {
            "user_id": row["delivery__notification__user_id"],
            "username": row["delivery__notification__user__username"],
            "address": row["delivery__notification__address"] or None,
        },
        "status": row["status"],
        "at": row["at"].isoformat(),
    }


def _window_end(*, after: int, horizon: int) -> int:
    """The id of the SCAN_WINDOW-th history row after `after` (or the horizon): windows
    count rows, not ids, so the gaps retention leaves in the history cost nothing."""
    ids = DeliveryEvent.objects.filter(id__gt=after, id__lte=horizon).order_by("id").values_list("id", flat=True)
    return next(iter(ids[SCAN_WINDOW - 1 : SCAN_WINDOW]), horizon)


def status_batch_next(*, endpoint: StatusWebhookEndpoint, horizon: int) -> StatusBatch | None:
    """The next batch for the endpoint: its failing batch again if it has one (the same
    changes), else up to BATCH_SIZE changes after its cursor, no further than the
    horizon. None when it is level with the horizon."""
    after = endpoint.cursor
    if endpoint.pending_upto is not None:
        found = _changes_in(api_key_id=endpoint.api_key_id, after=after, upto=endpoint.pending_upto, limit=BATCH_SIZE)
        return StatusBatch(endpoint.pk, after, endpoint.pending_upto, [change for _, change in found])
    if after >= horizon:
        return None
    found, scanned = [], after
    for _ in range(MAX_WINDOWS):
        if scanned >= horizon or len(found) == BATCH_SIZE:
            break
        window_end = _window_end(after=scanned, horizon=horizon)
        found += _changes_in(
            api_key_id=endpoint.api_key_id, after=scanned, upto=window_end, limit=BATCH_SIZE - len(found)
        )
        scanned = window_end
    # A full batch ends at its last change; a short one where the scan stopped.
    upto = found[-1][0] if len(found) == BATCH_SIZE else scanned
    return StatusBatch(endpoint.pk, after, upto, [change for _, change in found])
