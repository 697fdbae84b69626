"""The pipeline's first stage: record an event (the outbox row) and hand it to the
fan-out through fan_out_enqueue, at its send's priority. Events are a catalogue below
the pipeline (apps.events); publishing one is where the pipeline starts."""

import logging

from django.db import IntegrityError, transaction

from apps.events.models import Event, EventType
from apps.events.validators import event_data_validate

from .tasks import fan_out_enqueue

logger = logging.getLogger(__name__)


def event_publish(
    *,
    event_type: EventType | str,
    data: dict | None = None,
    subject: tuple[str, str] | None = None,
    actor=None,
    idempotency_key: str | None = None,
    api_key=None,
) -> tuple[Event, bool]:
    """Record an event and fan it out once the caller's transaction commits, at its
    type's default priority.

    `api_key` is the service that published it, if one did.

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
        "api_key": api_key,
        "priority": event_type.default_priority,
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
    transaction.on_commit(lambda: fan_out_enqueue(event_ids=[event.pk], priority=event.priority), robust=True)
    return event, True
