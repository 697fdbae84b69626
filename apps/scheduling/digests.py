"""Digests: the held deliveries of one person on one channel become one message.

Fan-out holds the deliveries of a channel on digest with not_before = DIGEST_HOLD
(apps.subscriptions.policy); the inbox still shows every item. When the person's window
closes, everything held from before its end becomes one digest: an Event of the
`digest` type (recorded, never fanned out), one UserNotification outside the inbox
whose title and body are the rendered digest, and one pending Delivery that the normal
dispatch sends through the channel's send_batch. The held deliveries are cancelled with
the reason "digested" and the digest's delivery id. An idempotency key per (person,
channel, window end) and row locks make a repeated or concurrent build a no-op.
"""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Profile
from apps.common.links import link_or_empty
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.delivery.services import delivery_history_record
from apps.delivery.tasks import deliveries_enqueue_routed
from apps.events.event_types import event_type_ensure
from apps.events.models import Event, FanoutState
from apps.notifications.models import UserNotification
from apps.subscriptions.models import DigestFrequency, Preference
from apps.subscriptions.policy import DIGEST_HOLD
from apps.subscriptions.quiet_hours import quiet_hold_until
from apps.subscriptions.throttles import THROTTLED
from apps.templating.context import event_context
from apps.templating.render import template_render

from .digest_windows import digest_window

logger = logging.getLogger(__name__)

DIGEST_EVENT_TYPE = "digest"


def _held():
    return Delivery.objects.filter(status=DeliveryStatus.PENDING, not_before=DIGEST_HOLD)


def _entry(notification) -> dict:
    return {
        "title": notification.title,
        "body": notification.body,
        "url": link_or_empty(notification.url),
        "event_type": notification.event.event_type.key,
        "created_at": notification.created_at.isoformat(),
    }


def _release_held(*, user_id: int, channel: str, now) -> int:
    """The person turned the digest off: their held deliveries go out one by one, but
    those a throttle put in the digest (they stay for an hourly one)."""
    with transaction.atomic():
        ids = list(
            _held()
            .select_for_update(skip_locked=True)
            .filter(notification__user_id=user_id, channel=channel)
            .exclude(last_error=THROTTLED)
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=ids).update(not_before=None, updated_at=now)
        transaction.on_commit(lambda: deliveries_enqueue_routed(delivery_ids=ids))
    return len(ids)


def digest_build(*, user_id: int, channel: str, preference: Preference | None, profile: Profile | None, now):
    """Build and queue the digest of one person's channel if a window closed. Returns
    the digest's Delivery, or None."""
    frequency = preference.digest_for(channel) if preference else DigestFrequency.OFF
    if frequency == DigestFrequency.OFF:
        _release_held(user_id=user_id, channel=channel, now=now)
        if not _held().filter(notification__user_id=user_id, channel=channel, last_error=THROTTLED).exists():
            return None
        # Over a throttle into the digest, for a person without one: an hourly digest.
        frequency = DigestFrequency.HOURLY
    tz = profile.timezone if profile else "UTC"
    start, end = digest_window(
        now=now, tz=tz, frequency=frequency, send_hour=settings.DIGEST_SEND_HOUR, weekday=settings.DIGEST_WEEKDAY
    )
    with transaction.atomic():
        items = list(
            _held()
            .select_for_update(skip_locked=True, of=("self",))
            .filter(notification__user_id=user_id, channel=channel, notification__created_at__lt=end)
            .select_related("notification__event__event_type", "notification__user")
            .order_by("notification__created_at", "pk")
        )
        if not items:
            return None
        user = items[0].notification.user
        data = {
            "frequency": frequency,
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "count": len(items),
            "entries": [_entry(d.notification) for d in items[: settings.DIGEST_MAX_ENTRIES]],
        }
        try:
            with transaction.atomic():
                event = Event.objects.create(
                    event_type=event_type_ensure(key=DIGEST_EVENT_TYPE, name="Digest"),
                    data=data,
                    idempotency_key=f"digest:{user_id}:{channel}:{end.isoformat()}",
                    fanout_state=FanoutState.DONE,
                    fanned_out_at=now,
                    recipient_count=1,
                )
        except IntegrityError:
            logger.warning("digest of user %s on %s for %s exists already", user_id, channel, end)
            return None
        rendered = template_render(
            event_type=DIGEST_EVENT_TYPE,
            channel=channel,
            locale=profile.locale if profile else None,
            context=event_context(event, recipient=user),
        )
        notification = UserNotification.objects.create(
            event=event,
            user_id=user_id,
            title=rendered.subject or "Digest",
            body=rendered.text,
            in_inbox=False,
            created_at=now,
        )
        hold = None
        if channel in settings.QUIET_HOURS_CHANNELS and preference and preference.quiet_start and preference.quiet_end:
            hold = quiet_hold_until(now=now, tz=tz, start=preference.quiet_start, end=preference.quiet_end)
        digest = Delivery.objects.create(
            notification=notification, channel=channel, created_at=now, updated_at=now, not_before=hold
        )
        if rendered.fallback_reason:
            delivery_history_record(
                [
                    DeliveryEvent(
                        delivery=digest, status="template_fallback", detail={"reason": rendered.fallback_reason}
                    )
                ]
            )
        item_ids = [d.pk for d in items]
        Delivery.objects.filter(pk__in=item_ids).update(
            status=DeliveryStatus.CANCELLED, last_error="digested", updated_at=now
        )
        delivery_history_record(
            [
                DeliveryEvent(
                    delivery_id=pk, status=DeliveryStatus.CANCELLED, detail={"reason": "digested", "digest": digest.pk}
                )
                for pk in item_ids
            ]
        )
        if hold is None:
            transaction.on_commit(lambda: deliveries_enqueue_routed(delivery_ids=[digest.pk]))
    logger.info("digest of %d items for user %s on %s", len(items), user_id, channel)
    return digest


def digests_build(*, now=None, page: int | None = None) -> int:
    """Build every digest whose window has closed. Returns how many were queued.
    People are walked in id order, a page at a time, so memory stays bounded."""
    now = now or timezone.now()
    page = page or settings.DIGEST_BATCH_SIZE
    built = 0
    after = 0
    while True:
        user_ids = list(
            _held()
            .filter(notification__user_id__gt=after)
            .order_by("notification__user_id")
            .values_list("notification__user_id", flat=True)
            .distinct()[:page]
        )
        if not user_ids:
            return built
        pairs = (
            _held()
            .filter(notification__user_id__in=user_ids)
            .order_by("notification__user_id", "channel")
            .values_list("notification__user_id", "channel")
            .distinct()
        )
        preferences = {p.user_id: p for p in Preference.objects.filter(user_id__in=user_ids)}
        profiles = {p.user_id: p for p in Profile.objects.filter(user_id__in=user_ids)}
        for user_id, channel in list(pairs):
            digest = digest_build(
                user_id=user_id,
                channel=channel,
                preference=preferences.get(user_id),
                profile=profiles.get(user_id),
                now=now,
            )
            built += digest is not None
        after = user_ids[-1]
