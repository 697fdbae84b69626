"""What `GET /api/v1/notifications/{id}/` says about a direct send: its state, and for
each recipient each channel's delivery with its timeline `[{"type", "at", "detail"}]`."""

from django.db.models import Count

from apps.common.channels import Channel
from apps.delivery.models import Delivery
from apps.events.models import FanoutState

from .models import SendStatus

_FANOUT_STATES = {FanoutState.PENDING: "queued", FanoutState.RUNNING: "fanning_out", FanoutState.DONE: "fanned_out"}

# Channels whose targets are the person's own: their webhook URLs and their browsers'
# push endpoints (capability URLs). The calling service learns what happened to each
# target, never where it is or what it answered; the full record stays for operators.
PERSONAL_TARGET_CHANNELS = frozenset({Channel.WEBHOOK, Channel.PUSH})
TARGET_FIELDS_SHOWN = ("target", "outcome", "status", "retry_after")
# Errors of those channels quote URLs, redirect locations and receivers' answers.
ERROR_WITHOUT_TARGETS = "the channel could not send (the full error is kept for operators)"


def direct_send_status(send) -> str:
    """scheduled | cancelled | queued | fanning_out | fanned_out"""
    if send.status in (SendStatus.SCHEDULED, SendStatus.CANCELLED):
        return send.status
    return _FANOUT_STATES[send.event.fanout_state]


def _in_app(item) -> dict:
    # The inbox item is the in-app delivery: it has no Delivery row of its own.
    timeline = [{"type": "delivered", "at": item.created_at, "detail": {}}]
    if item.read_at:
        timeline.append({"type": "read", "at": item.read_at, "detail": {}})
    return {
        "id": None,
        "channel": Channel.IN_APP,
        "status": "read" if item.read_at else "delivered",
        "attempts": 0,
        "last_error": "",
        "sent_at": item.created_at,
        "events": timeline,
    }


def _targets_error(targets: list[dict] | None) -> str:
    if not targets:
        return ERROR_WITHOUT_TARGETS
    failed = [t for t in targets if t.get("outcome") != "sent"]
    return "; ".join(
        f"{t['target']}: {t.get('outcome')}" + (f" (answered {t['status']})" if t.get("status") else "") for t in failed
    )


def _service_detail(channel: str, detail: dict) -> dict:
    """A delivery event's detail as the calling service may see it."""
    if channel not in PERSONAL_TARGET_CHANNELS:
        return detail
    shown = {key: value for key, value in detail.items() if key not in ("targets", "error")}
    if "targets" in detail:
        shown["targets"] = [{k: t[k] for k in TARGET_FIELDS_SHOWN if k in t} for t in detail["targets"]]
    if detail.get("error"):
        shown["error"] = _targets_error(shown.get("targets"))
    return shown


def _service_last_error(delivery, timeline: list[dict]) -> str:
    if delivery.channel not in PERSONAL_TARGET_CHANNELS or not delivery.last_error:
        return delivery.last_error
    errors = [event["detail"]["error"] for event in timeline if event["detail"].get("error")]
    return errors[-1] if errors else ERROR_WITHOUT_TARGETS


def _delivery(delivery) -> dict:
    # Fan-out inserts deliveries set-based without history rows: creation starts the timeline.
    timeline = [{"type": "pending", "at": delivery.created_at, "detail": {}}]
    timeline += [
        {"type": e.status, "at": e.at, "detail": _service_detail(delivery.channel, e.detail)}
        for e in delivery.events.all()
    ]
    return {
        "id": delivery.pk,
        "channel": delivery.channel,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_error": _service_last_error(delivery, timeline),
        "sent_at": delivery.sent_at,
        "events": timeline,
    }


def _recipient(user_id, item) -> dict:
    deliveries = []
    if item is not None:
        if item.in_inbox:
            deliveries.append(_in_app(item))
        deliveries += [_delivery(d) for d in item.deliveries.all()]
    return {"user_id": user_id, "notification_id": item.pk if item else None, "deliveries": deliveries}


def direct_send_state(*, send, items) -> dict:
    counts = (
        Delivery.objects.filter(notification__event_id=send.event_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        "id": send.pk,
        "status": direct_send_status(send),
        "event_type": send.event.event_type.key,
        "priority": send.priority,
        "channels": send.channels,
        "data": send.event.data,
        "scheduled_at": send.scheduled_at,
        "cancelled_at": send.cancelled_at,
        "created_at": send.created_at,
        "recipient_count": send.recipient_count,
        "delivery_counts": dict(counts),
        "recipients": [_recipient(user_id, item) for user_id, item in items],
    }
