"""Cancelling what a stopped direct send has not sent yet, a chunk per statement."""

from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.services import deliveries_cancel

from .models import DirectSend

# One UPDATE (and one history insert) per chunk: a send of a million deliveries is a
# few hundred statements, not a million transactions.
CANCEL_CHUNK = 5000


def send_deliveries_cancel(*, send_id: int, by: str, limit: int | None = None) -> tuple[int, bool]:
    """Cancel the pending deliveries of a send, up to `limit` (None: all of them).
    Returns (how many this call cancelled, whether pending ones are left). Each move is
    conditional, so a re-run or a race with another cancel cancels nothing twice."""
    event_id = DirectSend.objects.filter(pk=send_id).values_list("event_id", flat=True).first()
    if event_id is None:
        return 0, False
    pending = Delivery.objects.filter(notification__event_id=event_id, status=DeliveryStatus.PENDING)
    detail = {"reason": "send cancelled", "by": by}
    cancelled = 0
    while limit is None or cancelled < limit:
        size = CANCEL_CHUNK if limit is None else min(CANCEL_CHUNK, limit - cancelled)
        ids = list(pending.order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return cancelled, False
        cancelled += len(deliveries_cancel(delivery_ids=ids, detail=detail))
        if len(ids) < size:
            return cancelled, False
    return cancelled, pending.exists()
