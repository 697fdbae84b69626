"""Provider status callbacks → delivery status and history.

A final status moves the delivery by a conditional update (sent → delivered, sent or
delivered → failed), so a repeated callback changes nothing and records nothing.
Engagement (opened, clicked) is history only, de-duplicated by the provider's event id.

A callback can come before the worker that sent has recorded the send: the delivery is
still `sending`, or not yet findable by the provider's id. Such a callback is held
(EarlyProviderEvent) and applied when the send is recorded. Each side writes first and
looks for the other second, so whichever comes last sees the other's write; applying
twice is harmless (see above).
"""

from django.db import transaction
from django.db.models import Q

from apps.common.channels import Channel

from .models import Delivery, DeliveryEvent, DeliveryStatus, EarlyProviderEvent
from .selectors import delivery_id_by_provider_id
from .services import delivery_history_record, delivery_transition

# Twilio MessageStatus → our final status. Others (queued, sending, sent, ...) are
# steps on the way and only recorded.
TWILIO_FINAL = {
    "delivered": DeliveryStatus.DELIVERED,
    "failed": DeliveryStatus.FAILED,
    "undelivered": DeliveryStatus.FAILED,
}
# SendGrid event → our final status, or a history-only event name.
SENDGRID_FINAL = {
    "delivered": DeliveryStatus.DELIVERED,
    "bounce": DeliveryStatus.FAILED,
    "dropped": DeliveryStatus.FAILED,
}
SENDGRID_HISTORY = {"open": "opened", "click": "clicked", "deferred": "provider_deferred", "spamreport": "spam_report"}

# The channels whose providers call back (Twilio for SMS, SendGrid for email).
CALLBACK_CHANNELS = frozenset({Channel.SMS, Channel.EMAIL})

# The order a delivery moves in; a callback only ever moves it forward. Failed comes
# after delivered: SendGrid reports a bounce after the receiving server first accepted
# the message, and that later word is the truer one. Dead and cancelled are the
# service's own verdicts: no callback moves a delivery out of them.
STATUS_ORDER = (
    DeliveryStatus.PENDING,
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
)
# Provider steps on the way (history only) and the stage each stands for: one arriving
# after the delivery went past that stage (Twilio's "sent" after its "delivered") is
# stale, and recording it would put the timeline out of order.
PROVIDER_STEP_STAGE = {
    f"provider_{step}": DeliveryStatus.SENT
    for step in ("accepted", "queued", "scheduled", "sending", "sent", "deferred")
}


def _rank(status: str) -> int:
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else -1


def _statuses_before(status: str) -> list[str]:
    """Where a callback may move a delivery to `status` from: a sent delivery's later
    stages that come before it."""
    return [s for s in STATUS_ORDER if _rank(DeliveryStatus.SENT) <= _rank(s) < _rank(status)]


FROM_STATUSES = {status: _statuses_before(status) for status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)}


def _step_is_stale(*, delivery_id: int, status: str) -> bool:
    if status not in PROVIDER_STEP_STAGE:
        return False
    current = Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
    return _rank(current) > _rank(PROVIDER_STEP_STAGE[status])


def _record_once(*, delivery_id: int, status: str, detail: dict, dedupe: dict) -> bool:
    """Append a history row unless one with the same provider event is there."""
    with transaction.atomic():
        # Serialises duplicates arriving together.
        Delivery.objects.select_for_update().filter(pk=delivery_id).values_list("pk", flat=True).first()
        if DeliveryEvent.objects.filter(delivery_id=delivery_id, status=status, **dedupe).exists():
            return False
        delivery_history_record([DeliveryEvent(delivery_id=delivery_id, status=status, detail=detail)])
        return True


def delivery_provider_status(*, delivery_id: int, status: str, detail: dict, dedupe: dict) -> bool:
    if status in FROM_STATUSES:
        fields = {"last_error": detail.get("error", "")[:2000]} if status == DeliveryStatus.FAILED else {}
        if delivery_transition(
            delivery_id=delivery_id, to_status=status, from_statuses=FROM_STATUSES[status], detail=detail, **fields
        ):
            return True
        if Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).exists():
            _hold(delivery_id=delivery_id, status=status, detail=detail, dedupe=dedupe)
        return False
    if _step_is_stale(delivery_id=delivery_id, status=status):
        return False
    return _record_once(delivery_id=delivery_id, status=status, detail=detail, dedupe=dedupe)


def _hold(*, delivery_id: int | None = None, provider_message_id: str = "", **event) -> None:
    """Keep a callback for a send not recorded yet, then look again: the send may have
    been recorded since this callback looked."""
    EarlyProviderEvent.objects.create(delivery_id=delivery_id, provider_message_id=provider_message_id, **event)
    if delivery_id is None:
        delivery_id = delivery_id_by_provider_id(provider_message_id=provider_message_id, channel=Channel.SMS)
    if delivery_id is not None:
        early_provider_events_apply(delivery_ids=[delivery_id])


def early_provider_events_apply(*, delivery_ids: list[int]) -> int:
    """Apply, in arrival order, the held callbacks of those deliveries whose send is now
    recorded; returns how many changed something."""
    if not delivery_ids or not EarlyProviderEvent.objects.exists():  # the usual case: none held
        return 0
    recorded = list(
        Delivery.objects.filter(pk__in=delivery_ids)
        .exclude(status=DeliveryStatus.SENDING)
        .values_list("pk", "provider_message_id")
    )
    recorded_ids = {pk for pk, _ in recorded}
    by_provider_id = {provider_id: pk for pk, provider_id in recorded if provider_id}
    held = list(
        EarlyProviderEvent.objects.filter(
            Q(delivery_id__in=recorded_ids) | Q(delivery__isnull=True, provider_message_id__in=by_provider_id)
        ).order_by("pk")
    )
    # Claimed by deleting: of two appliers racing, each event goes to the one that deleted it.
    claimed = [event for event in held if EarlyProviderEvent.objects.filter(pk=event.pk).delete()[0]]
    return sum(
        delivery_provider_status(
            delivery_id=event.delivery_id or by_provider_id[event.provider_message_id],
            status=event.status,
            detail={**event.detail, "arrived_early": True},
            dedupe=event.dedupe,
        )
        for event in claimed
    )


def twilio_status_apply(*, params: dict) -> bool:
    """One Twilio status callback (form fields MessageSid, MessageStatus, ErrorCode)."""
    sid, twilio_status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not sid or not twilio_status:
        return False
    detail = {"provider": "twilio", "sid": sid, "provider_status": twilio_status}
    if params.get("ErrorCode"):
        detail.update(error_code=params["ErrorCode"], error=f"Twilio error {params['ErrorCode']}")
    status = TWILIO_FINAL.get(twilio_status, f"provider_{twilio_status}"[:20])
    dedupe = {"detail__provider_status": twilio_status}
    delivery_id = delivery_id_by_provider_id(provider_message_id=sid, channel=Channel.SMS)
    if delivery_id is None:
        # The sid is recorded with the send: this callback came first.
        _hold(provider_message_id=sid, status=status, detail=detail, dedupe=dedupe)
        return False
    return delivery_provider_status(delivery_id=delivery_id, status=status, detail=detail, dedupe=dedupe)


def _sendgrid_delivery_id(event: dict) -> int | None:
    """The delivery a SendGrid event is about: our custom arg, checked against the
    X-Message-Id its sg_message_id starts with."""
    sg_message_id = str(event.get("sg_message_id", ""))
    raw = event.get("delivery_id")
    if raw is not None and str(raw).isdigit():
        row = (
            Delivery.objects.filter(pk=int(raw), channel=Channel.EMAIL).values_list("pk", "provider_message_id").first()
        )
        if row and (not row[1] or not sg_message_id or sg_message_id.startswith(row[1])):
            return row[0]
        return None
    # Without the custom arg, only a message id naming a single delivery will do.
    prefix = sg_message_id.split(".", 1)[0]
    if not prefix:
        return None
    rows = list(
        Delivery.objects.filter(provider_message_id=prefix, channel=Channel.EMAIL).values_list("pk", flat=True)[:2]
    )
    return rows[0] if len(rows) == 1 else None


def sendgrid_events_apply(*, events: list[dict]) -> int:
    """A batch of SendGrid event-webhook records; returns how many changed something."""
    changed = 0
    for event in events:
        kind = str(event.get("event", ""))
        status = SENDGRID_FINAL.get(kind) or SENDGRID_HISTORY.get(kind)
        if status is None:
            continue
        delivery_id = _sendgrid_delivery_id(event)
        if delivery_id is None:
            continue
        detail = {"provider": "sendgrid", "provider_event": kind, "sg_event_id": str(event.get("sg_event_id", ""))}
        for key in ("timestamp", "url", "reason", "status", "response", "type"):
            if key in event:
                detail[key] = event[key] if isinstance(event[key], int | float) else str(event[key])[:500]
        if status == DeliveryStatus.FAILED:
            detail["error"] = f"SendGrid {kind}: {detail.get('reason', '')}".strip()
        dedupe = (
            {"detail__sg_event_id": detail["sg_event_id"]}
            if detail["sg_event_id"]
            else {"detail__timestamp": detail.get("timestamp")}
        )
        changed += delivery_provider_status(delivery_id=delivery_id, status=status, detail=detail, dedupe=dedupe)
    return changed
