"""Preferences applied to a fan-out chunk's fresh deliveries, set-based, inside the
chunk's transaction (so no delivery is ever visible to dispatch before its policy):

- muted channels and "mute until" → the delivery is cancelled (reason "muted"), with a
  DeliveryEvent, so "why did I get no email" has an answer;
- a channel on digest → held with not_before = DIGEST_HOLD until the digest task
  takes it into a digest;
- quiet hours → email, SMS and push held until the window's end (not_before).

Opt-outs need nothing here: a disabled subscription never makes a delivery. Critical
event types skip all of it. Quiet-hour windows are computed in Python once per distinct
(time zone, start, end) among the chunk's recipients, never per person.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.db.models import Q

from apps.common.channels import EXTERNAL_CHANNELS
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus

from .models import DigestFrequency
from .quiet_hours import quiet_hold_until

# "Until the digest is built": far enough never to be released by time, and the
# marker the digest task looks for.
DIGEST_HOLD = datetime(9999, 1, 1, tzinfo=UTC)
DIGESTING = [DigestFrequency.HOURLY, DigestFrequency.DAILY, DigestFrequency.WEEKLY]

PREFERENCE = "notification__user__notification_preference"


def muted_q(now) -> Q:
    muted = Q(**{f"{PREFERENCE}__mute_until__gt": now})
    for channel in EXTERNAL_CHANNELS:
        muted |= Q(channel=channel, **{f"{PREFERENCE}__muted_channels__contains": [channel]})
    return muted


def digest_q() -> Q:
    on_digest = Q(pk__in=[])
    for channel in EXTERNAL_CHANNELS:
        named = Q(**{f"{PREFERENCE}__digest_channels__has_key": channel})
        on_digest |= Q(channel=channel) & (
            (named & Q(**{f"{PREFERENCE}__digest_channels__{channel}__in": DIGESTING}))
            | (~named & Q(**{f"{PREFERENCE}__digest__in": DIGESTING}))
        )
    return on_digest


def deliveries_cancel_set(*, queryset, reason: str, now) -> int:
    """Cancel every pending delivery of a queryset in two statements, history included."""
    queryset = queryset.filter(status=DeliveryStatus.PENDING)
    sql, params = queryset.values_list("pk").query.sql_with_params()
    detail = DeliveryEvent._meta.get_field("detail").get_db_prep_save({"reason": reason}, connection)
    at = DeliveryEvent._meta.get_field("at").get_db_prep_save(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DeliveryEvent._meta.db_table} (delivery_id, status, detail, at) "
            f"SELECT q.*, %s, %s, %s FROM ({sql}) q",
            [DeliveryStatus.CANCELLED, detail, at, *params],
        )
    return queryset.update(status=DeliveryStatus.CANCELLED, last_error=reason, updated_at=now)


def quiet_hours_hold(*, queryset, now) -> int:
    """Hold the queryset's quiet-hour channels of people inside their quiet window."""
    queryset = queryset.filter(
        channel__in=settings.QUIET_HOURS_CHANNELS,
        **{f"{PREFERENCE}__quiet_start__isnull": False, f"{PREFERENCE}__quiet_end__isnull": False},
    )
    windows = queryset.values_list(
        "notification__user__profile__timezone", f"{PREFERENCE}__quiet_start", f"{PREFERENCE}__quiet_end"
    ).distinct()
    held = 0
    for tz, start, end in windows:
        until = quiet_hold_until(now=now, tz=tz or "UTC", start=start, end=end)
        if until is None:
            continue
        held += queryset.filter(
            Q(not_before__isnull=True) | Q(not_before__lt=until),
            **{
                "notification__user__profile__timezone": tz,
                f"{PREFERENCE}__quiet_start": start,
                f"{PREFERENCE}__quiet_end": end,
            },
        ).update(not_before=until, updated_at=now)
    return held


def deliveries_apply_preferences(*, queryset, now) -> None:
    """Apply mutes, digests and quiet hours to the pending deliveries of a queryset."""
    pending = queryset.filter(status=DeliveryStatus.PENDING)
    deliveries_cancel_set(queryset=pending.filter(muted_q(now)), reason="muted", now=now)
    pending.filter(digest_q()).update(not_before=DIGEST_HOLD, updated_at=now)
    quiet_hours_hold(queryset=pending.exclude(not_before=DIGEST_HOLD), now=now)


def fanned_out_deliveries(*, event_id: int, after_user_id: int, upto_user_id: int | None):
    queryset = Delivery.objects.filter(notification__event_id=event_id, notification__user_id__gt=after_user_id)
    if upto_user_id is not None:
        queryset = queryset.filter(notification__user_id__lte=upto_user_id)
    return queryset
