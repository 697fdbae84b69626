from django.db import transaction
from django.db.models import F
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


def deliveries_claim(*, delivery_ids: list[int]) -> list[int]:
    """Move the due, pending deliveries among delivery_ids to `sending` and count the
    attempt. Only claimed ids may be sent: a delivery already claimed, sent or held is
    skipped, so a re-run of any dispatch is harmless."""
    now = timezone.now()
    with transaction.atomic():
        claimed = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(pk__in=delivery_ids, status=DeliveryStatus.PENDING)
            .exclude(not_before__gt=now)
            .values_list("pk", flat=True)
        )
        if claimed:
            Delivery.objects.filter(pk__in=claimed).update(
                status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, updated_at=now
            )
    return claimed


def deliveries_record_results(*, results, max_attempts: int) -> dict[str, list[int]]:
    """Apply a batch's SendResults; returns ids by what happens next:
    {"sent": [...], "retry": [...], "failed": [...], "dead": [...]}."""
    from .channels.base import Outcome

    now = timezone.now()
    by_id = {result.delivery_id: result for result in results}
    attempts = dict(Delivery.objects.filter(pk__in=by_id).values_list("pk", "attempts"))
    plan: dict[str, list[int]] = {"sent": [], "retry": [], "failed": [], "dead": []}
    for delivery_id, result in by_id.items():
        if result.outcome == Outcome.SENT:
            plan["sent"].append(delivery_id)
        elif result.outcome == Outcome.PERMANENT:
            plan["failed"].append(delivery_id)
        elif attempts.get(delivery_id, max_attempts) >= max_attempts:
            plan["dead"].append(delivery_id)
        else:
            plan["retry"].append(delivery_id)

    next_status = {
        "sent": DeliveryStatus.SENT,
        "retry": DeliveryStatus.PENDING,
        "failed": DeliveryStatus.FAILED,
        "dead": DeliveryStatus.DEAD,
    }
    history = []
    with transaction.atomic():
        for step, ids in plan.items():
            for delivery_id in ids:
                result = by_id[delivery_id]
                fields = {"status": next_status[step], "updated_at": now, "last_error": result.error[:2000]}
                if step == "sent":
                    fields.update(sent_at=now, provider_message_id=result.provider_message_id[:200])
                if Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).update(**fields):
                    detail = {"outcome": str(result.outcome), "attempt": attempts.get(delivery_id), **result.detail}
                    if result.error:
                        detail["error"] = result.error[:2000]
                    history.append(DeliveryEvent(delivery_id=delivery_id, status=next_status[step], detail=detail))
        DeliveryEvent.objects.bulk_create(history)
    return plan
