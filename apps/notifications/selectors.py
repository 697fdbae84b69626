from django.db.models import F, JSONField, Prefetch, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.common.auth import ServicePrincipal
from apps.delivery.models import Delivery, DeliveryStatus

from .models import DirectSend, UserNotification


def inbox_list(*, user):
    """The person's inbox items, newest first, snoozed ones included (an item is found by
    id whatever its state). Filters are applied by the caller."""
    return UserNotification.objects.filter(user=user, in_inbox=True).select_related("event__event_type").order_by("-id")


def inbox_awake(items, *, now=None):
    """`items` without those snoozed until a time still to come. A snooze ends by this
    comparison alone: when its time passes the item is in the list and the count again."""
    return items.filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now or timezone.now()))


def inbox_visible_list(*, user):
    """What the person's inbox shows: their items less the snoozed ones, newest first."""
    return inbox_awake(inbox_list(user=user))


def inbox_item_rows(items, *extra_fields):
    """The inbox items of `items` as plain rows named like the API's fields.

    A list page is 50 items on every inbox load: rows instead of model instances (three
    per item with the event and its type) take most of the Python out of the request.
    """
    return items.values(
        "id",
        "title",
        "body",
        "url",
        "read_at",
        "archived_at",
        "snoozed_until",
        "created_at",
        *extra_fields,
        event_type=F("event__event_type__key"),
        # The item's own data, else its event's (see UserNotification.data).
        effective_data=Coalesce("data", "event__data", output_field=JSONField()),
    )


def inbox_get(*, user, notification_id: int) -> UserNotification:
    return inbox_list(user=user).get(pk=notification_id)


def inbox_unread_count(*, user) -> int:
    # Matches the partial index inbox_user_unread_awake, which carries snoozed_until:
    # an index-only count.
    return inbox_awake(
        UserNotification.objects.filter(user=user, in_inbox=True, read_at__isnull=True, archived_at__isnull=True)
    ).count()


def direct_send_list(*, caller):
    """The sends the caller owns: an API key's own, or a staff person's own."""
    sends = DirectSend.objects.select_related("event__event_type").order_by("-id")
    if isinstance(caller, ServicePrincipal):
        return sends.filter(api_key=caller.api_key)
    return sends.filter(created_by=caller)


def direct_send_get(*, caller, send_id: int):
    return direct_send_list(caller=caller).get(pk=send_id)


def direct_send_items(*, send, limit: int):
    """The first `limit` recipients (people in user id order, then addresses) with
    their items, the items' deliveries and each delivery's history:
    [(user id or None, address or None, item or None)]."""
    rows = list(
        send.recipients.order_by(F("user_id").asc(nulls_last=True), "address").values_list("user_id", "address")[:limit]
    )
    user_ids = [user_id for user_id, _ in rows if user_id is not None]
    addresses = [address for user_id, address in rows if user_id is None]
    items = (
        UserNotification.objects.filter(event_id=send.event_id)
        .filter(Q(user_id__in=user_ids) | Q(user__isnull=True, address__in=addresses))
        .prefetch_related(
            Prefetch("deliveries", queryset=Delivery.objects.order_by("channel").prefetch_related("events"))
        )
    )
    by_recipient = {(item.user_id, "" if item.user_id else item.address): item for item in items}
    return [
        (user_id, address or None, by_recipient.get((user_id, "" if user_id else address))) for user_id, address in rows
    ]


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
