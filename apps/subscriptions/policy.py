"""Preferences applied by the fan-out as it writes a chunk's deliveries.

The fan-out's delivery INSERT … SELECT takes its status, last_error and not_before
from the expressions built here, so a delivery is born with its person's preferences
applied (no second pass over fresh rows, whose statistics the planner has not seen):

- opted out → no delivery at all (the subscription is disabled: fan-out's MATCH);
- muted channel or inside "mute until" → status cancelled, last_error "muted", and a
  DeliveryEvent (an answer to "why did I get no email?");
- channel on digest → pending, held with not_before = DIGEST_HOLD until the digest
  task takes it into a digest;
- quiet hours → email, SMS and push (QUIET_HOURS_CHANNELS) held until the window's
  end. Windows are computed in Python once per distinct (time zone, start, end) among
  the chunk's people, never per person, and become a CASE in the INSERT.

Critical event types skip all of it. People without a Preference row cost a LEFT JOIN.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from django.conf import settings
from django.db import connection

from apps.accounts.models import Profile
from apps.delivery.models import DeliveryEvent, DeliveryStatus

from .models import Preference, Subscription
from .quiet_hours import quiet_hold_until

# "Until the digest is built": far enough never to be released by time, and the
# marker the digest task looks for.
DIGEST_HOLD = datetime(9999, 1, 1, tzinfo=UTC)
DIGESTING = ("hourly", "daily", "weekly")

PREFERENCES = Preference._meta.db_table
SUBSCRIPTIONS = Subscription._meta.db_table
PROFILES = Profile._meta.db_table

# JSON membership and lookup differ by database; both are a few characters.
_JSON = {
    "postgresql": {
        "muted": "jsonb_exists(p.muted_channels, s.channel)",
        "digest": "COALESCE(p.digest_channels ->> s.channel, p.digest)",
    },
    "sqlite": {
        "muted": "EXISTS (SELECT 1 FROM json_each(p.muted_channels) j WHERE j.value = s.channel)",
        "digest": "COALESCE(json_extract(p.digest_channels, '$.' || s.channel), p.digest)",
    },
}


@dataclass
class DeliveryPolicy:
    """SQL over `s` (subscription) for the fan-out's delivery INSERT."""

    joins: str = ""
    status: str = f"'{DeliveryStatus.PENDING}'"
    last_error: str = "''"
    not_before: str = "CAST(NULL AS timestamptz)"  # typed: SELECT DISTINCT needs it
    params: dict = field(default_factory=dict)


def _in_list(name: str, values) -> tuple[str, dict]:
    keys = {f"{name}_{i}": value for i, value in enumerate(values)}
    return ", ".join(f"%({key})s" for key in keys) or "NULL", keys


def _as_time(value) -> time:
    return time.fromisoformat(value) if isinstance(value, str) else value


def _quiet_windows(where_sql: str, params: dict, now) -> list[tuple]:
    """[(tz, start, end, until)] for the chunk's distinct quiet-hour settings that
    hold at `now`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT DISTINCT pr.timezone, p.quiet_start, p.quiet_end FROM {SUBSCRIPTIONS} s
            JOIN {PREFERENCES} p ON p.user_id = s.user_id
            JOIN {PROFILES} pr ON pr.user_id = s.user_id
            WHERE {where_sql} AND p.quiet_start IS NOT NULL AND p.quiet_end IS NOT NULL
            """,
            params,
        )
        rows = cursor.fetchall()
    windows = []
    for tz, start, end in rows:
        until = quiet_hold_until(now=now, tz=tz or "UTC", start=_as_time(start), end=_as_time(end))
        if until is not None:
            windows.append((tz, start, end, until))
    return windows


def delivery_policy(*, where_sql: str, params: dict, critical: bool, now) -> DeliveryPolicy:
    """The expressions for one chunk. `where_sql` selects the chunk's subscriptions
    (alias `s`) with `params`."""
    if critical:
        return DeliveryPolicy()
    adapt = connection.ops
    json = _JSON[connection.vendor]
    muted = f"COALESCE(p.mute_until > %(policy_now)s OR {json['muted']}, FALSE)"
    digesting, frequencies = _in_list("policy_freq", DIGESTING)
    quiet_channels, channel_keys = _in_list("policy_quiet", settings.QUIET_HOURS_CHANNELS)
    cases = [f"WHEN {muted} THEN NULL", f"WHEN {json['digest']} IN ({digesting}) THEN %(policy_hold)s"]
    extra = {}
    for i, (tz, start, end, until) in enumerate(_quiet_windows(where_sql, params, now)):
        cases.append(
            f"WHEN s.channel IN ({quiet_channels}) AND pr.timezone = %(policy_tz_{i})s"
            f" AND p.quiet_start = %(policy_start_{i})s AND p.quiet_end = %(policy_end_{i})s"
            f" THEN %(policy_until_{i})s"
        )
        extra.update(
            {
                f"policy_tz_{i}": tz,
                f"policy_start_{i}": adapt.adapt_timefield_value(start),
                f"policy_end_{i}": adapt.adapt_timefield_value(end),
                f"policy_until_{i}": adapt.adapt_datetimefield_value(until),
            }
        )
    return DeliveryPolicy(
        joins=f"LEFT JOIN {PREFERENCES} p ON p.user_id = s.user_id LEFT JOIN {PROFILES} pr ON pr.user_id = s.user_id",
        status=f"CASE WHEN {muted} THEN '{DeliveryStatus.CANCELLED}' ELSE '{DeliveryStatus.PENDING}' END",
        last_error=f"CASE WHEN {muted} THEN 'muted' ELSE '' END",
        not_before=f"CASE {' '.join(cases)} ELSE NULL END",
        params={
            "policy_now": adapt.adapt_datetimefield_value(now),
            "policy_hold": adapt.adapt_datetimefield_value(DIGEST_HOLD),
            **frequencies,
            **channel_keys,
            **extra,
        },
    )


def muted_history_detail():
    """The DeliveryEvent detail of a delivery cancelled as muted, ready for SQL."""
    return DeliveryEvent._meta.get_field("detail").get_db_prep_save({"reason": "muted"}, connection)
