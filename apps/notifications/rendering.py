"""What an inbox item says: the event type's in-app template (stored, else
templates/notifications/in_app/<event type key>.txt or default.txt), rendered once per
event in the default locale. The subject is the title, the text the body."""

import logging

from django.conf import settings

from apps.common.channels import Channel
from apps.templating.context import event_context
from apps.templating.render import template_render

logger = logging.getLogger(__name__)

TITLE_MAX = 300


def inbox_content(event) -> tuple[str, str, str]:
    """(title, body, url) for an event."""
    rendered = template_render(
        event_type=event.event_type,
        channel=Channel.IN_APP,
        locale=settings.NOTIFICATION_DEFAULT_LOCALE,
        context=event_context(event),
    )
    if rendered.fallback_reason:
        logger.warning("inbox content of event %s fell back: %s", event.pk, rendered.fallback_reason)
    url = str(event.data.get("url", ""))[:500] if isinstance(event.data, dict) else ""
    return rendered.subject[:TITLE_MAX] or event.event_type.name, rendered.text, url
