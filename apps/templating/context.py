"""The context templates see: plain values only, never model instances."""

from django.conf import settings


def user_context(user) -> dict | None:
    if user is None:
        return None
    profile = getattr(user, "profile", None)
    return {
        "username": user.get_username(),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "profile": {
            "locale": getattr(profile, "locale", ""),
            "timezone": getattr(profile, "timezone", "UTC"),
        },
    }


def event_context(event, *, recipient=None, data=None) -> dict:
    """What a template of this event sees. `data` overrides the event's (a direct send
    may carry its own per recipient)."""
    event_type = event.event_type
    return {
        "data": event.data if data is None else data,
        "event_type": {"key": event_type.key, "name": event_type.name, "critical": event_type.critical},
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "actor": {"username": event.actor.get_username()} if event.actor_id else None,
        "recipient": user_context(recipient),
        "created_at": event.created_at,
        "public_base_url": settings.PUBLIC_BASE_URL,
    }


def sample_context(event_type, *, recipient=None) -> dict:
    """For previews: the latest event of the type if there is one, else made-up data."""
    event = event_type.events.select_related("actor").order_by("-id").first()
    if event is not None:
        return event_context(event, recipient=recipient)
    return {
        "data": {"name": "Sample", "title": "Sample title", "message": "Sample message", "url": "https://example.com/"},
        "event_type": {"key": event_type.key, "name": event_type.name, "critical": event_type.critical},
        "subject": {"type": "sample", "id": "1"},
        "actor": {"username": "someone"},
        "recipient": user_context(recipient),
        "created_at": None,
        "public_base_url": settings.PUBLIC_BASE_URL,
    }
