"""Inbox writes. Each is a single conditional UPDATE, so repeating one is harmless."""

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from .selectors import inbox_get, inbox_list


def _update_and_get(*, user, notification_id: int, **fields):
    item = inbox_get(user=user, notification_id=notification_id)
    inbox_list(user=user).filter(pk=item.pk).update(**fields)
    return inbox_get(user=user, notification_id=notification_id)


def inbox_mark_read(*, user, notification_id: int):
    # Keep the first read time when marked read again.
    return _update_and_get(user=user, notification_id=notification_id, read_at=Coalesce(F("read_at"), timezone.now()))


def inbox_mark_unread(*, user, notification_id: int):
    return _update_and_get(user=user, notification_id=notification_id, read_at=None)


def inbox_archive(*, user, notification_id: int):
    return _update_and_get(
        user=user, notification_id=notification_id, archived_at=Coalesce(F("archived_at"), timezone.now())
    )


def inbox_unarchive(*, user, notification_id: int):
    return _update_and_get(user=user, notification_id=notification_id, archived_at=None)


def inbox_mark_all_read(*, user) -> int:
    return inbox_list(user=user).filter(read_at__isnull=True, archived_at__isnull=True).update(read_at=timezone.now())
