import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.common.event_data import data_validate

from .models import Event, EventType
from .selectors import event_fanout_overdue_ids

logger = logging.getLogger(__name__)


def event_type_create(
    *,
    key: str,
    name: str,
    description: str = "",
    critical: bool = False,
    default_channels: list | None = None,
    self_service: bool = False,
) -> EventType:
    return EventType.objects.create(
        key=key,
        name=name,
        description=description,
        critical=critical,
        self_service=self_service,
        default_channels=list(dict.fromkeys(default_channels or [])),
    )


_EVENT_TYPE_EDITABLE = ("name", "description", "critical", "self_service")


def event_type_update(*, event_type: EventType, data: dict) -> EventType:
    """Change what may change; the key is the identity others subscribe by."""
    fields = [f for f in _EVENT_TYPE_EDITABLE if f in data]
    closing = event_type.self_service and data.get("self_service") is False
    for field in fields:
        setattr(event_type, field, data[field])
    with transaction.atomic():
        if fields:
            event_type.save(update_fields=fields)
        if closing:
            event_type_self_service_closed(event_type=event_type)
    return event_type


def event_type_self_service_closed(*, event_type: EventType) -> int:
    """People may no longer subscribe themselves: the subscriptions they made go."""
    from apps.subscriptions.services import subscriptions_revoke_for_event_type

    return subscriptions_revoke_for_event_type(event_type=event_type)


def event_type_ensure(*, key: str, name: str, critical: bool = False, self_service: bool = False) -> EventType:
    event_type, _ = EventType.objects.get_or_create(
        key=key, defaults={"name": name, "critical": critical, "self_service": self_service}
    )
    return event_type


def _enqueue_fan_out(event_id: int) -> None:
    from apps.notifications.tasks import fan_out_task

    fan_out_task.delay(event_id)


def event_data_validate(data: dict) -> None:
    """apps.common.event_data's bounds and link rule, for Python callers: one
    ValidationError on `data` whose messages name the part ("url: ...")."""
    try:
        data_validate(data)
    except ValidationError as exc:
        messages = [
            message if part == "data" else f"{part}: {message}"
            for part, part_messages in exc.message_dict.items()
            for message in part_messages
        ]
        raise ValidationError({"data": messages}) from exc


def event_publish(
    *,
    event_type: EventType | str,
    data: dict | None = None,
    subject: tuple[str, str] | None = None,
    actor=None,
    idempotency_key: str | None = None,
) -> tuple[Event, bool]:
    """Record an event and fan it out once the caller's transaction commits.

    Returns (event, created). With an idempotency key already used, the first event is
    returned and nothing is published again.
    """
    if isinstance(event_type, str):
        event_type = EventType.objects.get(key=event_type)
    data = data or {}
    event_data_validate(data)
    fields = {
        "event_type": event_type,
        "data": data,
        "subject_type": subject[0] if subject else "",
        "subject_id": str(subject[1]) if subject else "",
        "actor": actor,
    }
    if idempotency_key:
        existing = Event.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
        fields["idempotency_key"] = idempotency_key
    try:
        with transaction.atomic():
            event = Event.objects.create(**fields)
    except IntegrityError:
        # A concurrent publish with the same key won the race.
        return Event.objects.get(idempotency_key=idempotency_key), False
    # robust: a broker outage must not fail the caller's committed work; the outbox
    # relay re-drives the event later.
    transaction.on_commit(lambda: _enqueue_fan_out(event.pk), robust=True)
    return event, True


def outbox_relay() -> int:
    """Re-enqueue the fan-out of every overdue event; returns how many."""
    event_ids = event_fanout_overdue_ids()
    for event_id in event_ids:
        _enqueue_fan_out(event_id)
    if event_ids:
        logger.warning("outbox relay re-drove %d events", len(event_ids))
    return len(event_ids)
