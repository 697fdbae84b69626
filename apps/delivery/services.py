from django.db import transaction
from django.utils import timezone

from .models import Delivery, DeliveryEvent, DeliveryStatus


@transaction.atomic
def delivery_transition(
    *, delivery_id: int, to_status: str, from_statuses: list[str] | None = None, detail: dict | None = None, **fields
) -> bool:
    """Move a delivery to to_status if it is in one of from_statuses, and record it.

    The conditional UPDATE makes concurrent or repeated transitions harmless: only one
    wins, and the losers record nothing.
    """
    queryset = Delivery.objects.filter(pk=delivery_id)
    if from_statuses is not None:
        queryset = queryset.filter(status__in=from_statuses)
    now = timezone.now()
    if to_status == DeliveryStatus.SENT:
        fields.setdefault("sent_at", now)
    if not queryset.update(status=to_status, updated_at=now, **fields):
        return False
    DeliveryEvent.objects.create(delivery_id=delivery_id, status=to_status, detail=detail or {})
    return True


def delivery_requeue(*, delivery_id: int, by: str = "operator") -> bool:
    """Give a dead or failed delivery a fresh start."""
    return delivery_transition(
        delivery_id=delivery_id,
        to_status=DeliveryStatus.PENDING,
        from_statuses=[DeliveryStatus.DEAD, DeliveryStatus.FAILED],
        detail={"requeued_by": by},
        attempts=0,
        last_error="",
    )
