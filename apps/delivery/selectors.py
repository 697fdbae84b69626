from .models import Delivery, DeliveryStatus


def delivery_list_for_send(*, delivery_ids: list[int]):
    """Claimed deliveries with everything a channel renders from, in one query."""
    return (
        Delivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.SENDING)
        .select_related("notification__user__profile", "notification__event__event_type")
        .order_by("pk")
    )


def pending_delivery_ids_for_chunk(*, event_id: int, after_user_id: int, upto_user_id: int | None, page: int = 1000):
    """(channel, [ids]) pages of one fan-out chunk's pending deliveries, walked by id so
    memory stays bounded whatever the chunk's size."""
    queryset = Delivery.objects.filter(
        notification__event_id=event_id, notification__user_id__gt=after_user_id, status=DeliveryStatus.PENDING
    )
    if upto_user_id is not None:
        queryset = queryset.filter(notification__user_id__lte=upto_user_id)
    last_id = 0
    while True:
        rows = list(queryset.filter(pk__gt=last_id).order_by("pk").values_list("pk", "channel")[:page])
        if not rows:
            return
        last_id = rows[-1][0]
        by_channel: dict[str, list[int]] = {}
        for pk, channel in rows:
            by_channel.setdefault(channel, []).append(pk)
        yield from by_channel.items()


def dead_delivery_ids(*, channel: str | None = None, since=None) -> list[int]:
    """Dead deliveries, optionally of one channel and gone dead at or after `since`."""
    queryset = Delivery.objects.filter(status=DeliveryStatus.DEAD)
    if channel:
        queryset = queryset.filter(channel=channel)
    if since is not None:
        queryset = queryset.filter(updated_at__gte=since)
    return list(queryset.order_by("pk").values_list("pk", flat=True))


def delivery_get_by_provider_id(*, provider_message_id: str, channel: str):
    return Delivery.objects.filter(provider_message_id=provider_message_id, channel=channel).first()
