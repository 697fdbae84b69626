"""Direct sends: a service notifies named people or addresses (`POST /api/v1/notifications/`).

Each send is an Event (type, data, fan-out state) with a DirectSend row (owner,
priority, channels, schedule) and one DirectSendRecipient row per person or address.
Its deliveries follow the same preferences, opt-outs and suppression list as a
subscriber fan-out's (apps.subscriptions.policy); only critical event types pass them. Fan-out reads
the recipient rows set-based (fanout.recipients_audience), on a queue of the send's
priority. A send for later waits in the database; beat releases it when due.
"""

import logging

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.common.auth import ServicePrincipal
from apps.common.priorities import NORMAL
from apps.events.models import Event, EventType, FanoutState
from apps.events.validators import event_data_validate

from .addresses import Address, address_parse, recipients_split
from .models import DirectSend, DirectSendRecipient, SendStatus
from .send_cancel import send_deliveries_cancel
from .send_rows import send_rows_insert
from .tasks import direct_send_cancel_task, fan_out_enqueue

logger = logging.getLogger(__name__)


def _owner_fields(caller) -> dict:
    if isinstance(caller, ServicePrincipal):
        return {"api_key": caller.api_key}
    return {"created_by": caller}


def _by_priority(sends: list[DirectSend]) -> dict[str, list[int]]:
    """{priority: [event ids]}: what fan_out_enqueue takes."""
    by_priority: dict[str, list[int]] = {}
    for send in sends:
        by_priority.setdefault(send.priority, []).append(send.event_id)
    return by_priority


def _enqueue_fan_out(sends: list[DirectSend]) -> None:
    for priority, event_ids in _by_priority(sends).items():
        fan_out_enqueue(event_ids=event_ids, priority=priority)


def _unknown_recipients(recipients: list[tuple[list[int], list]]) -> dict[int, list[int]]:
    """{request index: [user ids that do not exist]} for the requests naming any."""
    wanted = {user_id for user_ids, _ in recipients for user_id in user_ids}
    known = set(get_user_model().objects.filter(pk__in=wanted).values_list("pk", flat=True))
    missing = {}
    for index, (user_ids, _) in enumerate(recipients):
        unknown = sorted(set(user_ids) - known)
        if unknown:
            missing[index] = unknown
    return missing


def _split_recipients(requests: list[dict]) -> list[tuple[list[int], list[Address]]]:
    """Each request's (user ids, addresses); ValidationError naming, per request index,
    each recipient that is no valid address, and each address whose channel the
    request's channels leave out."""
    split, errors = [], {}
    for index, request in enumerate(requests):
        problems = []
        for position, recipient in enumerate(request["recipients"]):
            if isinstance(recipient, int):
                continue
            try:
                address = address_parse(recipient)
            except ValidationError as exc:
                problems.append(f"Recipient {position}: {' '.join(exc.messages)}")
                continue
            channels = request.get("channels")
            if channels is not None and address.channel not in channels:
                problems.append(f"Recipient {position}: an address on {address.channel} needs that channel.")
        if problems:
            errors[str(index)] = problems
        else:
            split.append(recipients_split(request["recipients"]))
    if errors:
        raise ValidationError(errors)
    return split


@transaction.atomic
def direct_sends_create(*, caller, requests: list[dict]) -> list[DirectSend]:
    """Create sends, each request being {event_type, recipients, channels?, data?,
    priority?, scheduled_at?}; recipients are user ids or addresses ({"email"} or
    {"phone"}, see addresses.py). All or nothing: one unknown or invalid recipient
    refuses the lot.

    Raises ValidationError naming, per request index, the user ids that do not exist
    or the recipients that are no valid address.
    """
    split = _split_recipients(requests)
    missing = _unknown_recipients(split)
    if missing:
        raise ValidationError(
            {str(i): [f"Unknown recipients: {', '.join(map(str, ids))}."] for i, ids in missing.items()}
        )
    now = timezone.now()
    owner = _owner_fields(caller)
    events, sends = [], []
    for request in requests:
        data = request.get("data") or {}
        event_data_validate(data)
        event_type = request["event_type"]
        if isinstance(event_type, str):
            event_type = EventType.objects.get(key=event_type)
        events.append(Event(event_type=event_type, data=data, priority=request.get("priority") or NORMAL))
    for request, (user_ids, addresses) in zip(requests, split, strict=True):
        scheduled_at = request.get("scheduled_at")
        channels = request.get("channels")
        sends.append(
            DirectSend(
                priority=request.get("priority") or NORMAL,
                channels=sorted(set(channels)) if channels is not None else None,
                scheduled_at=scheduled_at,
                status=SendStatus.SCHEDULED if scheduled_at and scheduled_at > now else SendStatus.QUEUED,
                recipient_count=len(user_ids) + len(addresses),
                **owner,
            )
        )
    recipients = [
        [DirectSendRecipient(user_id=user_id) for user_id in user_ids]
        + [DirectSendRecipient(address=address.value) for address in addresses]
        for user_ids, addresses in split
    ]
    send_rows_insert(events=events, sends=sends, recipients=recipients)
    due = [send for send in sends if send.status == SendStatus.QUEUED]
    # robust: the sends are committed; if the broker is down the outbox relay re-drives them.
    transaction.on_commit(lambda: _enqueue_fan_out(due), robust=True)
    return sends


def direct_send_create(*, caller, **request) -> DirectSend:
    return direct_sends_create(caller=caller, requests=[request])[0]


def scheduled_sends_release(*, limit: int = 500) -> dict[str, list[int]]:
    """Mark every scheduled send that is due as queued; returns their event ids by
    priority, for the caller to enqueue their fan-out (apps.scheduling.release). A send
    released and never enqueued (a crash in between) is re-driven by the outbox relay."""
    with transaction.atomic():
        due = list(
            DirectSend.objects.select_for_update(skip_locked=True)
            .filter(status=SendStatus.SCHEDULED, scheduled_at__lte=timezone.now())
            .order_by("scheduled_at")[:limit]
        )
        DirectSend.objects.filter(pk__in=[send.pk for send in due]).update(status=SendStatus.QUEUED)
    if due:
        logger.info("released %d scheduled sends", len(due))
    return _by_priority(due)


# Deliveries a cancel request moves itself; a larger send's rest is moved by a task.
CANCEL_INLINE_LIMIT = 500


def direct_send_cancel(*, send: DirectSend, by: str) -> int:
    """Stop a send: a scheduled one never fans out, a running fan-out stops at its next
    chunk, and every delivery not yet sent (pending) is cancelled: up to
    CANCEL_INLINE_LIMIT here and the rest by a task. Returns how many deliveries this
    call cancelled. Repeating it is harmless."""
    with transaction.atomic():
        # The event row lock waits for a chunk in progress; after it, no chunk starts.
        Event.objects.select_for_update().filter(pk=send.event_id).first()
        DirectSend.objects.filter(pk=send.pk).update(
            status=SendStatus.CANCELLED, cancelled_at=Coalesce("cancelled_at", timezone.now())
        )
        Event.objects.filter(pk=send.event_id).exclude(fanout_state=FanoutState.DONE).update(
            fanout_state=FanoutState.DONE
        )
    cancelled, more = send_deliveries_cancel(send_id=send.pk, by=by, limit=CANCEL_INLINE_LIMIT)
    if more:
        direct_send_cancel_task.delay(send.pk, by)
    return cancelled
