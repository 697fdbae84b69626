"""What an inbox item says, rendered once per event from the files under
templates/notifications/in_app/: `<event type key>.txt` or `default.txt`. The first
line is the title, the rest the body."""

import logging

from django.conf import settings
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import select_template

logger = logging.getLogger(__name__)

TITLE_MAX = 300


def inbox_content(event) -> tuple[str, str, str]:
    """(title, body, url) for an event."""
    context = {
        "event": event,
        "event_type": event.event_type,
        "data": event.data,
        "actor": event.actor,
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "public_base_url": settings.PUBLIC_BASE_URL,
    }
    try:
        template = select_template(
            [f"notifications/in_app/{event.event_type.key}.txt", "notifications/in_app/default.txt"]
        )
        text = template.render(context).strip()
    except (TemplateDoesNotExist, TemplateSyntaxError) as exc:
        # A broken template must not lose the notification.
        logger.exception("inbox template for %s failed; using the event type name", event.event_type.key)
        text = f"{event.event_type.name}\n{exc.__class__.__name__}"
    title, _, body = text.partition("\n")
    url = str(event.data.get("url", ""))[:500] if isinstance(event.data, dict) else ""
    return title.strip()[:TITLE_MAX] or event.event_type.name, body.strip(), url
