"""Inbox writes. Each is a single conditional UPDATE, so repeating one is harmless."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from .selectors import inbox_get, inbox_list, inbox_visible_list

# A snooze is for later today or a coming day, not a way to hide an item for good.
SNOOZE_MAX = timedelta(days=366)


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


def inbox_snooze(*, user, notification_id: int, until: datetime):
    """Hide the item until `until`; it comes back unread.

    It is marked unread now rather than when it returns: the return is then nothing but
    the time passing (inbox_awake), with no job per snoozed item, and the unread count
    leaves it out meanwhile because it is snoozed. Snoozing again moves the time.
    """
    if timezone.is_naive(until):
        raise ValidationError({"until": ["Give a time zone (e.g. 2026-12-01T09:00:00Z)."]}, code="naive")
    now = timezone.now()
    if until <= now:
        raise ValidationError({"until": ["Must be in the future."]}, code="past")
    if until > now + SNOOZE_MAX:
        raise ValidationError({"until": [f"At most {SNOOZE_MAX.days} days ahead."]}, code="too_far")
    return _update_and_get(user=user, notification_id=notification_id, snoozed_until=until, read_at=None)


def inbox_mark_all_read(*, user) -> int:
    # Only what the person sees: a snoozed item still comes back unread.
    return (
        inbox_visible_list(user=user)
        .filter(read_at__isnull=True, archived_at__isnull=True)
        .update(read_at=timezone.now())
    )
