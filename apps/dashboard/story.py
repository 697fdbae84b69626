"""One notification's whole story: the event it came from, who it was for, and each of
its deliveries with its history, the content its channel renders for it and what the
provider answered."""

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch

from apps.delivery.channels.registry import get_channel
from apps.delivery.models import Delivery, DeliveryEvent
from apps.notifications.models import DirectSend, UserNotification

logger = logging.getLogger(__name__)

# Other recipients of the same event listed on the page (an event may have millions).
OTHER_RECIPIENTS_SHOWN = 20


@dataclass(frozen=True)
class RenderedContent:
    to: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    url: str = ""
    # Why there is nothing to show: no address on the channel, or the render failed.
    problem: str = ""


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    status: str
    provider: str
    detail: str  # the history row's detail as JSON, for the page to print (escaped)


@dataclass(frozen=True)
class DeliveryStory:
    delivery: Delivery
    timeline: list[TimelineEntry]
    content: RenderedContent
    # Provider ids and answers, from the history rows that carry them.
    provider_answers: list[TimelineEntry]


@dataclass(frozen=True)
class NotificationStory:
    notification: UserNotification
    event_data: str  # JSON
    direct_send: DirectSend | None
    deliveries: list[DeliveryStory]
    other_recipients: list[UserNotification]
    more_recipients: bool


def rendered_content(delivery: Delivery) -> RenderedContent:
    """What the delivery's channel renders for it with today's templates and the
    person's current addresses: what is sent if it is sent (again) now. Never sends."""
    try:
        message = get_channel(delivery.channel).render(delivery)
    except Exception as exc:  # noqa: BLE001 - the page shows why, as the dispatch would fail it
        logger.info("story: delivery %s does not render", delivery.pk, exc_info=True)
        return RenderedContent(problem=f"Rendering failed: {type(exc).__name__}: {exc}")
    if message is None:
        return RenderedContent(problem=f"No address on the {delivery.channel} channel: the delivery fails.")
    return RenderedContent(
        to=message.to, subject=message.subject, text=message.text, html=message.html, url=message.url
    )


def as_json(value) -> str:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False, default=str)


def _timeline(events: list[DeliveryEvent]) -> list[TimelineEntry]:
    return [
        TimelineEntry(event.at, event.status, str(event.detail.get("provider", "")), as_json(event.detail))
        for event in events
    ]


def _provider_answers(timeline: list[TimelineEntry]) -> list[TimelineEntry]:
    """The history rows a provider wrote: send results and callbacks name it in `provider`."""
    return [entry for entry in timeline if entry.provider]


def notification_story(*, notification_id: int) -> NotificationStory | None:
    """The story of one inbox item (or direct-send recipient's item); None if there is none."""
    notification = (
        UserNotification.objects.select_related("event__event_type", "event__actor", "user__profile")
        .prefetch_related(
            Prefetch("deliveries", queryset=Delivery.objects.order_by("channel").prefetch_related("events"))
        )
        .filter(pk=notification_id)
        .first()
    )
    if notification is None:
        return None
    deliveries = []
    for delivery in notification.deliveries.all():
        # The channels read delivery.notification; give them the one loaded above.
        delivery.notification = notification
        timeline = _timeline(list(delivery.events.all()))
        deliveries.append(DeliveryStory(delivery, timeline, rendered_content(delivery), _provider_answers(timeline)))
    others = list(
        UserNotification.objects.filter(event_id=notification.event_id)
        .exclude(pk=notification.pk)
        .select_related("user")
        # The (event, user) unique index gives this order: no sort of a big event's items.
        .order_by("user_id")[: OTHER_RECIPIENTS_SHOWN + 1]
    )
    return NotificationStory(
        notification=notification,
        event_data=as_json(notification.event.data),
        direct_send=DirectSend.objects.filter(event_id=notification.event_id).first(),
        deliveries=deliveries,
        other_recipients=others[:OTHER_RECIPIENTS_SHOWN],
        more_recipients=len(others) > OTHER_RECIPIENTS_SHOWN,
    )
