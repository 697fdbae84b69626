from django.utils import timezone

from apps.notifications.models import UserNotification

from .models import Delivery, DeliveryStatus


def delivery_list_for_send(*, delivery_ids: list[int]):
    """Claimed deliveries with everything a channel renders from, in one query."""
    return (
        Delivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.SENDING)
        .select_related("notification__user__profile", "notification__event__event_type")
        .order_by("pk")
    )


def pending_delivery_ids_for_chunk(*, event_id: int, after_user_id: int, upto_user_id: int | None, page: int = 1000):
    """(channel, [ids]) pages of one fan-out chunk's pending deliveries, walked by user id
    so memory stays bounded whatever the chunk's size.

    Each page reads the chunk's inbox items by the (event, user) index, then their
    deliveries by the (notification, channel) index, and keeps the pending ones here:
    a plan that stays cheap even when the planner's statistics are stale (a join on
    status can pick the status index and scan every pending delivery per row).
    """
    if after_user_id == 0:
        # A direct send's address recipients (no user) are written with its first chunk.
        yield from _due_by_channel(
            Delivery.objects.filter(notification__event_id=event_id, notification__user__isnull=True)
        )
    notifications = UserNotification.objects.filter(event_id=event_id)
    if upto_user_id is not None:
        notifications = notifications.filter(user_id__lte=upto_user_id)
    last_user_id = after_user_id
    while True:
        rows = list(
            notifications.filter(user_id__gt=last_user_id).order_by("user_id").values_list("user_id", "pk")[:page]
        )
        if not rows:
            return
        last_user_id = rows[-1][0]
        yield from _due_by_channel(Delivery.objects.filter(notification_id__in=[pk for _, pk in rows]))


def _due_by_channel(deliveries):
    """(channel, [ids]) of the pending deliveries among `deliveries` that are due."""
    by_channel: dict[str, list[int]] = {}
    now = timezone.now()
    for pk, channel, status, not_before in deliveries.order_by("pk").values_list(
        "pk", "channel", "status", "not_before"
    ):
        # Held ones (quiet hours, digests, scheduled) are released by beat when due.
        if status == DeliveryStatus.PENDING and (not_before is None or not_before <= now):
            by_channel.setdefault(channel, []).append(pk)
    return by_channel.items()


def dead_delivery_ids(*, channel: str | None = None, since=None) -> list[int]:
    """Dead deliveries, optionally of one channel and gone dead at or after `since`."""
    queryset = Delivery.objects.filter(status=DeliveryStatus.DEAD)
    if channel:
        queryset = queryset.filter(channel=channel)
    if since is not None:
        queryset = queryset.filter(updated_at__gte=since)
    return list(queryset.order_by("pk").values_list("pk", flat=True))


def delivery_id_by_provider_id(*, provider_message_id: str, channel: str) -> int | None:
    return (
        Delivery.objects.filter(provider_message_id=provider_message_id, channel=channel)
        .values_list("pk", flat=True)
        .first()
    )
