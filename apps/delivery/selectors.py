from .models import Delivery, DeliveryStatus

# The priority of a delivery's send (its event's): the queue it travels on.
PRIORITY = "notification__event__priority"


def delivery_routes(*, delivery_ids) -> dict[tuple[str, str], list[int]]:
    """(channel, priority) → ids of the given deliveries: the queue each goes on."""
    routes: dict[tuple[str, str], list[int]] = {}
    rows = Delivery.objects.filter(pk__in=list(delivery_ids)).order_by("pk").values_list("pk", "channel", PRIORITY)
    for pk, channel, priority in rows:
        routes.setdefault((channel, priority), []).append(pk)
    return routes


def delivery_list_for_send(*, delivery_ids: list[int]):
    """Claimed deliveries with everything a channel renders from, in one query."""
    return (
        Delivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.SENDING)
        .select_related("notification__user__profile", "notification__event__event_type")
        .order_by("pk")
    )


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
