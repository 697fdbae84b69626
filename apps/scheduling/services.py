"""Scheduled sends and cancellation.

A delivery waits in the database while its `not_before` is in the future (a scheduled
send, quiet hours); beat releases it when due (release.py). Long delays never become
Celery countdowns: Redis would redeliver those after its visibility timeout.
"""

from django.db.models import Q
from django.utils import timezone

from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.services import delivery_transition
from apps.subscriptions.policy import DIGEST_HOLD


def deliveries_schedule(*, delivery_ids: list[int], at) -> int:
    """Hold pending deliveries until `at` (an aware datetime). Returns how many."""
    return (
        Delivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.PENDING)
        .filter(Q(not_before__isnull=True) | ~Q(not_before=DIGEST_HOLD))
        .update(not_before=at, updated_at=timezone.now())
    )


def notification_schedule(*, notification_id: int, at) -> int:
    """Hold every pending delivery of a notification until `at`."""
    ids = list(
        Delivery.objects.filter(notification_id=notification_id, status=DeliveryStatus.PENDING).values_list(
            "pk", flat=True
        )
    )
    return deliveries_schedule(delivery_ids=ids, at=at)


def delivery_cancel(*, delivery_id: int, reason: str = "cancelled", by: str = "") -> bool:
    """Cancel a delivery not yet sent. False when it was already claimed, sent or ended:
    the conditional transition and the dispatch claim cannot both win."""
    return delivery_transition(
        delivery_id=delivery_id,
        to_status=DeliveryStatus.CANCELLED,
        from_statuses=[DeliveryStatus.PENDING],
        detail={"reason": reason, "by": by} if by else {"reason": reason},
        last_error=reason,
    )


def notification_cancel(*, notification_id: int, reason: str = "cancelled", by: str = "") -> int:
    """Cancel what is not yet sent of a notification, on every channel. Returns how many."""
    ids = Delivery.objects.filter(notification_id=notification_id, status=DeliveryStatus.PENDING).values_list(
        "pk", flat=True
    )
    return sum(delivery_cancel(delivery_id=pk, reason=reason, by=by) for pk in list(ids))
