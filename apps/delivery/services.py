from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import Delivery, DeliveryEvent, DeliveryStatus
from .outcomes import Outcome
from .selectors import delivery_routes
from .signals import delivery_history_recorded


def delivery_history_record(events: list[DeliveryEvent]) -> None:
    """Write history rows; listeners hear of them once the transaction commits."""
    if not events:
        return
    DeliveryEvent.objects.bulk_create(events)
    transaction.on_commit(lambda: delivery_history_recorded.send(sender=DeliveryEvent, events=events))


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
    delivery_history_record([DeliveryEvent(delivery_id=delivery_id, status=to_status, detail=detail or {})])
    return True


@dataclass(frozen=True)
class Requeue:
    """Deliveries to put on their channel's queue of a priority, after a countdown:
    what a service that makes work for dispatch returns (delivery.tasks enqueues it)."""

    channel: str
    priority: str
    delivery_ids: list[int]
    countdown: float | None = None


def deliveries_requeue(*, delivery_ids, by: str = "operator") -> list[Requeue]:
    """Give dead or failed deliveries a fresh start; returns them by queue, for the
    caller to enqueue once this has committed."""
    requeued: list[int] = []
    with transaction.atomic():
        for delivery_id in Delivery.objects.filter(
            pk__in=list(delivery_ids), status__in=[DeliveryStatus.DEAD, DeliveryStatus.FAILED]
        ).values_list("pk", flat=True):
            if delivery_transition(
                delivery_id=delivery_id,
                to_status=DeliveryStatus.PENDING,
                from_statuses=[DeliveryStatus.DEAD, DeliveryStatus.FAILED],
                detail={"requeued_by": by},
                attempts=0,
                last_error="",
            ):
                requeued.append(delivery_id)
    return [
        Requeue(channel, priority, ids) for (channel, priority), ids in delivery_routes(delivery_ids=requeued).items()
    ]


def deliveries_cancel(
    *,
    delivery_ids: list[int],
    detail: dict,
    last_error: str | None = None,
    from_statuses=(DeliveryStatus.PENDING,),
) -> list[int]:
    """Cancel the deliveries among delivery_ids that are in `from_statuses` (pending
    unless said otherwise) in one UPDATE, with their history; returns the ids
    cancelled. The row locks make it and the dispatch claim exclusive: a delivery
    claimed first is not cancelled, one cancelled is not sent."""
    now = timezone.now()
    with transaction.atomic():
        pending = list(
            Delivery.objects.select_for_update()
            .filter(pk__in=delivery_ids, status__in=from_statuses)
            .values_list("pk", flat=True)
        )
        if not pending:
            return []
        fields = {"status": DeliveryStatus.CANCELLED, "updated_at": now}
        if last_error is not None:
            fields["last_error"] = last_error
        Delivery.objects.filter(pk__in=pending).update(**fields)
        delivery_history_record(
            [DeliveryEvent(delivery_id=pk, status=DeliveryStatus.CANCELLED, detail=dict(detail)) for pk in pending]
        )
    return pending


# What an operator may stop: anything not sent yet, dead letters included.
OPERATOR_CANCELLABLE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.DEAD)


def deliveries_cancel_by_operator(*, delivery_ids, by: str = "operator") -> int:
    """Stop deliveries not yet sent (pending, failed, dead): a dispatch already queued
    claims only pending ones, so it skips them. Returns how many were cancelled."""
    cancelled = deliveries_cancel(
        delivery_ids=list(delivery_ids),
        detail={"reason": "cancelled by an operator", "by": by},
        from_statuses=OPERATOR_CANCELLABLE,
    )
    return len(cancelled)


# The state of the direct send a delivery belongs to, if any (a publish has none): read
# through the relations, so this stage needs no import from the one above it.
SEND_STATUS = "notification__event__direct_send__status"
SEND_CANCELLED = "cancelled"


def deliveries_claim(*, delivery_ids: list[int]) -> list[int]:
    """Move the due, pending deliveries among delivery_ids to `sending` and count the
    attempt. Only claimed ids may be sent: a delivery already claimed, sent or held is
    skipped, so a re-run of any dispatch is harmless. A delivery of a cancelled send is
    cancelled here instead, whether or not the cancel's own task ran: a stop holds even
    when Redis lost that task and the sweeper re-enqueued the delivery."""
    now = timezone.now()
    with transaction.atomic():
        # Only the ids go in the WHERE, so the plan is always the primary key: with a
        # status condition, stale statistics after a large fan-out can make the planner
        # scan the status index through every pending delivery for each batch.
        rows = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=delivery_ids)
            .values_list("pk", "status", "not_before", SEND_STATUS)
        )
        due = [
            (pk, send_status)
            for pk, status, not_before, send_status in rows
            if status == DeliveryStatus.PENDING and (not_before is None or not_before <= now)
        ]
        claimed = [pk for pk, send_status in due if send_status != SEND_CANCELLED]
        stopped = [pk for pk, send_status in due if send_status == SEND_CANCELLED]
        if claimed:
            Delivery.objects.filter(pk__in=claimed).update(
                status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, updated_at=now
            )
        if stopped:
            deliveries_cancel(delivery_ids=stopped, detail={"reason": "send cancelled", "by": "claim"})
    return claimed


# One statement for a whole batch whatever each row's values: Django's bulk_update
# builds a CASE per field and row, which costs more Python time than the sending.
UPDATE_ROWS_SQL = f"""
    UPDATE {Delivery._meta.db_table} AS d
    SET status = u.status, attempts = u.attempts, last_error = u.last_error,
        provider_message_id = u.provider_message_id, sent_at = u.sent_at, updated_at = %s
    FROM unnest(%s::bigint[], %s::text[], %s::integer[], %s::text[], %s::text[], %s::timestamptz[])
        AS u(id, status, attempts, last_error, provider_message_id, sent_at)
    WHERE d.id = u.id
"""


def _write_rows(rows: list[Delivery], now) -> None:
    if not rows:
        return
    if connection.vendor != "postgresql":
        fields = ["status", "updated_at", "attempts", "last_error", "sent_at", "provider_message_id"]
        Delivery.objects.bulk_update(rows, fields, batch_size=500)
        return
    columns = [
        [row.pk for row in rows],
        [row.status for row in rows],
        [row.attempts for row in rows],
        [row.last_error for row in rows],
        [row.provider_message_id for row in rows],
        [row.sent_at for row in rows],
    ]
    with connection.cursor() as cursor:
        cursor.execute(UPDATE_ROWS_SQL, [now, *columns])


NEXT_STATUS = {
    "sent": DeliveryStatus.SENT,
    "retry": DeliveryStatus.PENDING,
    "failed": DeliveryStatus.FAILED,
    "dead": DeliveryStatus.DEAD,
    "deferred": DeliveryStatus.PENDING,
}


def _plan(by_id: dict, attempts: dict[int, int], max_attempts: int) -> dict[str, list[int]]:
    plan: dict[str, list[int]] = {step: [] for step in NEXT_STATUS}
    for delivery_id, result in by_id.items():
        if result.outcome == Outcome.SENT:
            plan["sent"].append(delivery_id)
        elif result.outcome == Outcome.PERMANENT:
            plan["failed"].append(delivery_id)
        elif result.outcome == Outcome.DEFERRED:
            plan["deferred"].append(delivery_id)
        elif attempts.get(delivery_id, max_attempts) >= max_attempts:
            plan["dead"].append(delivery_id)
        else:
            plan["retry"].append(delivery_id)
    return plan


def deliveries_record_results(*, results, max_attempts: int) -> dict[str, list[int]]:
    """Apply a batch's SendResults in a few statements; returns ids by what happens
    next: sent, retry, failed, dead, deferred. A deferred delivery was not tried, so
    its attempt is given back. Only deliveries still `sending` change (a sweeper or a
    callback may have moved one meanwhile)."""
    now = timezone.now()
    by_id = {result.delivery_id: result for result in results}
    history, changed = [], []
    with transaction.atomic():
        rows = {
            row.pk: row
            for row in Delivery.objects.select_for_update()
            .filter(pk__in=list(by_id), status=DeliveryStatus.SENDING)
            .only("pk", "attempts", "last_error", "sent_at", "provider_message_id")
        }
        plan = _plan(by_id, {pk: row.attempts for pk, row in rows.items()}, max_attempts)
        for step, ids in plan.items():
            for delivery_id in ids:
                row, result = rows.get(delivery_id), by_id[delivery_id]
                if row is None:
                    continue
                detail = {"outcome": str(result.outcome), "attempt": row.attempts, **result.detail}
                if result.error:
                    detail["error"] = result.error[:2000]
                row.status, row.updated_at = NEXT_STATUS[step], now
                if step == "deferred":
                    row.attempts -= 1
                    detail["attempt"] = None
                else:
                    row.last_error = result.error[:2000]
                if step == "sent":
                    row.sent_at, row.provider_message_id = now, result.provider_message_id[:200]
                changed.append(row)
                history.append(
                    DeliveryEvent(
                        delivery_id=delivery_id, status=step if step == "deferred" else row.status, detail=detail
                    )
                )
        _write_rows(changed, now)
        delivery_history_record(history)
    plan = {step: [pk for pk in ids if pk in rows] for step, ids in plan.items()}
    return plan
