"""The catalogue of event types: what people subscribe to and what the pipeline's
stages read (critical, default channels, default priority)."""

from apps.common.priorities import CRITICAL, NORMAL

from .models import EventType


def event_type_create(
    *,
    key: str,
    name: str,
    description: str = "",
    critical: bool = False,
    default_channels: list | None = None,
    default_priority: str | None = None,
    self_service: bool = False,
    batch_window_seconds: int | None = None,
    batch_key: str = "",
    batch_noun: str = "",
    throttle_limit: int | None = None,
    throttle_window_seconds: int = 3600,
    throttle_overflow: str = "hold",
) -> EventType:
    return EventType.objects.create(
        key=key,
        name=name,
        description=description,
        critical=critical,
        default_channels=list(dict.fromkeys(default_channels or [])),
        # A critical type's fan-outs are critical unless asked otherwise.
        default_priority=default_priority or (CRITICAL if critical else NORMAL),
        self_service=self_service,
        batch_window_seconds=batch_window_seconds,
        batch_key=batch_key,
        batch_noun=batch_noun,
        throttle_limit=throttle_limit,
        throttle_window_seconds=throttle_window_seconds,
        throttle_overflow=throttle_overflow,
    )


_EVENT_TYPE_EDITABLE = (
    "name",
    "description",
    "critical",
    "default_priority",
    "self_service",
    "batch_window_seconds",
    "batch_key",
    "batch_noun",
    "throttle_limit",
    "throttle_window_seconds",
    "throttle_overflow",
)


def event_type_update(*, event_type: EventType, data: dict) -> EventType:
    """Change what may change; the key is the identity others subscribe by."""
    fields = [f for f in _EVENT_TYPE_EDITABLE if f in data]
    for field in fields:
        setattr(event_type, field, data[field])
    if fields:
        event_type.save(update_fields=fields)
    return event_type


def event_type_ensure(*, key: str, name: str, critical: bool = False, self_service: bool = False) -> EventType:
    event_type, _ = EventType.objects.get_or_create(
        key=key,
        defaults={
            "name": name,
            "critical": critical,
            "default_priority": CRITICAL if critical else NORMAL,
            "self_service": self_service,
        },
    )
    return event_type
