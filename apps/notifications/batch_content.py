"""What a batch says: its summary (count, first and last items, the list, the actors)
and the inbox title and body rendered from it.

A batch's templates see `batch` beside the last event's usual context. An operator's
stored in-app template of the event type is used when there is one (it may read
`batch.count`, `batch.items`, `batch.actors`); else templates/notifications/<channel>/
batch.txt ("3 new comments on Checkout flow"). Rendered once per distinct window
(first event, last event, count) of a chunk or a close, never per person.
"""

from django.conf import settings

from apps.common.channels import Channel
from apps.events.models import Event
from apps.templating.context import event_context
from apps.templating.models import NotificationTemplate
from apps.templating.render import template_render

from .rendering import TITLE_MAX, inbox_content

# The file templates of a batch: notifications/<channel>/batch.txt.
BATCH_TEMPLATE = "batch"
DEFAULT_NOUN = "updates"


def _subject_name(event) -> str:
    """What the batch is about, for "… on Checkout flow"."""
    data = event.data if isinstance(event.data, dict) else {}
    for field in ("subject_name", "name"):
        value = data.get(field)
        if isinstance(value, str | int) and str(value):
            return str(value)
    return event.subject_id


def _item(event) -> dict:
    title, body, url = inbox_content(event)
    return {
        "id": event.pk,
        "title": title,
        "body": body,
        "url": url,
        "actor": event.actor.get_username() if event.actor_id else None,
        "data": event.data,
        "created_at": event.created_at.isoformat(),
    }


def batch_summary(*, event_type, batch_key: str, first_event_id: int, last_event_id: int, count: int) -> dict:
    """The summary of a window: the events of its key from its first to its last (the
    newest BATCH_ITEMS_MAX listed), their distinct actors, and `count`, the person's
    own number of events (they may have subscribed after the first)."""
    events = Event.objects.filter(
        event_type_id=event_type.pk, batch_key=batch_key, pk__gte=first_event_id, pk__lte=last_event_id
    ).select_related("event_type", "actor")
    newest = list(events.order_by("-pk")[: settings.BATCH_ITEMS_MAX])[::-1]
    first = newest[0] if newest and newest[0].pk == first_event_id else events.order_by("pk").first()
    last = newest[-1] if newest else first
    actors = list(
        events.filter(actor__isnull=False)
        .order_by("actor__username")
        .values_list("actor__username", flat=True)
        .distinct()[: settings.BATCH_ITEMS_MAX]
    )
    items = [_item(event) for event in newest]
    return {
        "count": count,
        "noun": event_type.batch_noun or DEFAULT_NOUN,
        "subject": _subject_name(last) if last else "",
        "first": _item(first) if first else None,
        "last": items[-1] if items else None,
        "items": items,
        "more": max(count - len(items), 0),
        "actors": actors,
    }


def batch_render(*, event_type, channel: str, locale: str | None, last_event, summary: dict):
    """The Rendered of a batch on `channel`."""
    context = {**event_context(last_event), "batch": summary}
    stored = NotificationTemplate.objects.filter(
        event_type_id=event_type.pk, channel=channel, current_version__isnull=False
    ).exists()
    return template_render(
        event_type=event_type if stored else BATCH_TEMPLATE, channel=channel, locale=locale, context=context
    )


def batch_inbox_content(*, event_type, last_event, summary: dict) -> tuple[str, str]:
    """(title, body) of a batch's inbox item, in the default locale."""
    rendered = batch_render(
        event_type=event_type,
        channel=Channel.IN_APP,
        locale=settings.NOTIFICATION_DEFAULT_LOCALE,
        last_event=last_event,
        summary=summary,
    )
    return rendered.subject[:TITLE_MAX] or event_type.name, rendered.text
