from .models import UserNotification


def inbox_list(*, user):
    """The person's inbox items, newest first. Filters are applied by the caller."""
    return UserNotification.objects.filter(user=user, in_inbox=True).select_related("event__event_type").order_by("-id")


def inbox_get(*, user, notification_id: int) -> UserNotification:
    return inbox_list(user=user).get(pk=notification_id)


def inbox_unread_count(*, user) -> int:
    # Matches the partial index inbox_user_unread exactly: an index-only count.
    return UserNotification.objects.filter(
        user=user, in_inbox=True, read_at__isnull=True, archived_at__isnull=True
    ).count()
