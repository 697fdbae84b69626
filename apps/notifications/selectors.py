from django.db.models import F, JSONField, Prefetch, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.common.auth import ServicePrincipal
from apps.delivery.models import Delivery

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
