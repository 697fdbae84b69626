"""What an inbox item says: the event type's in-app template (stored, else
templates/notifications/in_app/<event type key>.txt or default.txt). The subject is the
title, the text the body. Rendered once per event in the default locale, plus once per
other locale that has a stored in-app template of the event type (the fan-out gives
those to the people whose locale falls back to them): once per event per locale, never
per person."""

import logging

from django.conf import settings

from apps.common.channels import Channel
from apps.common.links import link_or_empty
from apps.templating.context import event_context
from apps.templating.locales import locale_normalize
from apps.templating.models import NotificationTemplate
from apps.templating.render import template_render

logger = logging.getLogger(__name__)

TITLE_MAX = 300


def _title_and_body(event, locale: str) -> tuple[str, str]:
    rendered = template_render(
        event_type=event.event_type, channel=Channel.IN_APP, locale=locale, context=event_context(event)
    )
    if rendered.fallback_reason:
        logger.warning("inbox content of event %s (%s) fell back: %s", event.pk, locale, rendered.fallback_reason)
    return rendered.subject[:TITLE_MAX] or event.event_type.name, rendered.text


def inbox_content(event) -> tuple[str, str, str]:
    """(title, body, url) for an event, in the default locale."""
    title, body = _title_and_body(event, settings.NOTIFICATION_DEFAULT_LOCALE)
    # Published data passed the link rule; older rows may not have: never store a bad link.
    url = link_or_empty(event.data.get("url")) if isinstance(event.data, dict) else ""
    return title, body, url


def inbox_content_by_locale(event) -> list[tuple[str, str, str]]:
    """[(locale, title, body)] for each non-default locale with a stored in-app template
    of the event type, languages ("pt") before regions ("pt-BR"): applied in this
    order, a region's own template wins over its language's."""
    default = locale_normalize(settings.NOTIFICATION_DEFAULT_LOCALE)
    locales = NotificationTemplate.objects.filter(
        event_type_id=event.event_type_id, channel=Channel.IN_APP, current_version__isnull=False
    ).values_list("locale", flat=True)
    ordered = sorted((locale for locale in set(locales) if locale != default), key=lambda loc: ("-" in loc, loc))
    return [(locale, *_title_and_body(event, locale)) for locale in ordered]
