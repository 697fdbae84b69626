"""Preferences and the suppression list, applied as deliveries are written.

Every delivery INSERT … SELECT (a subscriber fan-out's and a direct send's alike) takes
its status, last_error and not_before from the expressions built here, so a delivery is
born with its person's preferences applied (no second pass over fresh rows, whose
statistics the planner has not seen). One decision, whichever path wrote the row:

- opted out (subscription to the event type × channel turned off, e.g. by one-click
  unsubscribe) → a fan-out reaches no such subscription at all (its MATCH); a direct
  send names its recipients, so theirs is born cancelled with last_error "opted_out";
- muted channel or inside "mute until" → status cancelled, last_error "muted";
- the address (the person's email or phone, or a direct send's address) is on the
  suppression list → status cancelled, last_error "suppressed";
- channel on digest → pending, held with not_before = DIGEST_HOLD until the digest
  task takes it into a digest;
- over a throttle (throttles.py: at most N per person and channel in a window) →
  pending with last_error "throttled", held until the next window or into the digest;
- quiet hours → email, SMS and push (QUIET_HOURS_CHANNELS) held until the window's
  end. Windows are computed in Python once per distinct (time zone, start, end) among
  the chunk's people, never per person, and become a CASE in the INSERT.

Each of those gets a DeliveryEvent saying why (`cancelled`, `throttled` or `held`, with
the reason): the answer to "why did I get no email?".

Critical event types skip all of it. People without a Preference row cost a LEFT JOIN.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from apps.accounts.models import Profile
from apps.common.channels import Channel
from apps.delivery.models import DeliveryEvent, DeliveryStatus, Suppression

from .models import Preference, Subscription
from .quiet_hours import quiet_hold_until
from .throttles import THROTTLED, throttle_history_detail, throttle_rules, throttle_sql

# "Until the digest is built": far enough never to be released by time, and the
# marker the digest task looks for.
DIGEST_HOLD = datetime(9999, 1, 1, tzinfo=UTC)
DIGESTING = ("hourly", "daily", "weekly")

PREFERENCES = Preference._meta.db_table
SUBSCRIPTIONS = Subscription._meta.db_table
PROFILES = Profile._meta.db_table
USERS = get_user_model()._meta.db_table
SUPPRESSIONS = Suppression._meta.db_table

# Why a delivery was born cancelled: its last_error, and its history's reason.
MUTED, OPTED_OUT, SUPPRESSED = "muted", "opted_out", "suppressed"
CANCEL_REASONS = (MUTED, OPTED_OUT, SUPPRESSED)

# JSON membership and lookup differ by database; both are a few characters.
_JSON = {
    "postgresql": {
        "muted": "jsonb_exists(p.muted_channels, {channel})",
        "digest": "COALESCE(p.digest_channels ->> {channel}, p.digest)",
        "object": "jsonb_build_object",
    },
    "sqlite": {
        "muted": "EXISTS (SELECT 1 FROM json_each(p.muted_channels) j WHERE j.value = {channel})",
        "digest": "COALESCE(json_extract(p.digest_channels, '$.' || {channel}), p.digest)",
        "object": "json_object",
    },
}


@dataclass(frozen=True)
class Recipients:
    """Where a delivery statement finds its rows: `FROM from_sql WHERE where_sql`, with
    the expressions naming each row's user (NULL for an address), channel and, for an
    address recipient, its address."""

    from_sql: str
    where_sql: str
    user: str = "s.user_id"
    channel: str = "s.channel"
    # A direct send's address recipient; NULL for people (their profile's is looked up).
    address: str = "NULL"
    # Whether turned-off subscriptions must be looked up: a fan-out never reaches them
    # (its MATCH), a direct send names its recipients and channels itself.
    opt_outs: bool = False


@dataclass
class DeliveryPolicy:
    """SQL for one delivery INSERT: its joins, and its status, last_error and not_before."""

    joins: str = ""
    status: str = f"'{DeliveryStatus.PENDING}'"
    last_error: str = "''"
    not_before: str = "CAST(NULL AS timestamptz)"  # typed: SELECT DISTINCT needs it
    params: dict = field(default_factory=dict)
    # Statements (sql, params) to run just before the INSERT: the throttle counters.
    before: list = field(default_factory=list)


def _in_list(name: str, values) -> tuple[str, dict]:
    keys = {f"{name}_{i}": value for i, value in enumerate(values)}
    return ", ".join(f"%({key})s" for key in keys) or "NULL", keys


def _as_time(value) -> time:
    return time.fromisoformat(value) if isinstance(value, str) else value


def _quiet_windows(recipients: Recipients, params: dict, now) -> list[tuple]:
    """[(tz, start, end, until)] for the chunk's distinct quiet-hour settings that
    hold at `now`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT DISTINCT pr.timezone, p.quiet_start, p.quiet_end FROM {recipients.from_sql}
            JOIN {PREFERENCES} p ON p.user_id = {recipients.user}
            JOIN {PROFILES} pr ON pr.user_id = {recipients.user}
            WHERE {recipients.where_sql} AND p.quiet_start IS NOT NULL AND p.quiet_end IS NOT NULL
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


def _suppressed(recipients: Recipients) -> tuple[str, str]:
    """(join, condition): the row's address is on the suppression list. A person's
    address is their email (compared lower-cased, as the list keeps it) or phone."""
    address = (
        f"COALESCE({recipients.address}, CASE {recipients.channel}"
        f" WHEN '{Channel.EMAIL}' THEN LOWER(u.email) WHEN '{Channel.SMS}' THEN pr.phone END)"
    )
    condition = (
        f"EXISTS (SELECT 1 FROM {SUPPRESSIONS} x WHERE x.channel = {recipients.channel} AND x.address = {address})"
    )
    return f" LEFT JOIN {USERS} u ON u.id = {recipients.user}", condition


def _opted_out(recipients: Recipients) -> tuple[str, str]:
    """(join, condition): the person turned this event type off on this channel."""
    join = (
        f" LEFT JOIN {SUBSCRIPTIONS} o ON o.user_id = {recipients.user} AND o.event_type_id = %(event_type_id)s"
        f" AND o.channel = {recipients.channel} AND o.subject_type = '' AND o.subject_id = '' AND NOT o.enabled"
    )
    return join, "o.id IS NOT NULL"


def delivery_policy(*, recipients: Recipients, params: dict, critical: bool, now) -> DeliveryPolicy:
    """The expressions for one statement over `recipients` (with `params`)."""
    if critical:
        return DeliveryPolicy()
    adapt = connection.ops
    json = {key: sql.format(channel=recipients.channel) for key, sql in _JSON[connection.vendor].items()}
    user = recipients.user
    joins = f"LEFT JOIN {PREFERENCES} p ON p.user_id = {user} LEFT JOIN {PROFILES} pr ON pr.user_id = {user}"
    # First reason wins: opted out, then suppressed, then muted.
    reasons = []
    if recipients.opt_outs:
        join, condition = _opted_out(recipients)
        joins += join
        reasons.append((condition, OPTED_OUT))
    # The list is small and often empty: no lookup per row while nobody is on it.
    if Suppression.objects.exists():
        join, condition = _suppressed(recipients)
        joins += join
        reasons.append((condition, SUPPRESSED))
    reasons.append((f"COALESCE(p.mute_until > %(policy_now)s OR {json['muted']}, FALSE)", MUTED))
    cancelled = " OR ".join(f"({condition})" for condition, _ in reasons)
    last_error = " ".join(f"WHEN {condition} THEN '{reason}'" for condition, reason in reasons)
    digesting, frequencies = _in_list("policy_freq", DIGESTING)
    quiet_channels, channel_keys = _in_list("policy_quiet", settings.QUIET_HOURS_CHANNELS)
    digest = f"{json['digest']} IN ({digesting})"
    cases = [f"WHEN {cancelled} THEN NULL", f"WHEN {digest} THEN %(policy_hold)s"]
    extra, before = {}, []
    # A person on digest gets the digest anyway; otherwise a throttle comes before quiet hours.
    rules = throttle_rules(event_type_id=params.get("event_type_id"))
    if rules:
        throttle = throttle_sql(rules=rules, recipients=recipients, params=params, now=now, digest_hold=DIGEST_HOLD)
        joins += throttle.joins
        cases += throttle.not_before_cases
        last_error += f" WHEN COALESCE({digest}, FALSE) THEN '' WHEN {throttle.throttled} THEN '{THROTTLED}'"
        extra.update(throttle.params)
        before = throttle.before
    for i, (tz, start, end, until) in enumerate(_quiet_windows(recipients, params, now)):
        cases.append(
            f"WHEN {recipients.channel} IN ({quiet_channels}) AND pr.timezone = %(policy_tz_{i})s"
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
        joins=joins,
        status=f"CASE WHEN {cancelled} THEN '{DeliveryStatus.CANCELLED}' ELSE '{DeliveryStatus.PENDING}' END",
        last_error=f"CASE {last_error} ELSE '' END",
        not_before=f"CASE {' '.join(cases)} ELSE NULL END",
        params={
            "policy_now": adapt.adapt_datetimefield_value(now),
            "policy_hold": adapt.adapt_datetimefield_value(DIGEST_HOLD),
            **frequencies,
            **channel_keys,
            **extra,
        },
        before=before,
    )


def _json(value: dict):
    return DeliveryEvent._meta.get_field("detail").get_db_prep_save(value, connection)


def policy_history_sql(*, source: str) -> tuple[str, dict]:
    """The statement writing the history of the deliveries in `source` (alias `d`,
    columns id, status, last_error, not_before) that the policy cancelled or held, and
    its params: `cancelled` with the reason, or `held` with the reason and until when."""
    reasons = " ".join(f"WHEN '{reason}' THEN %(policy_reason_{reason})s" for reason in CANCEL_REASONS)
    listed = ", ".join(f"'{reason}'" for reason in CANCEL_REASONS)
    build = _JSON[connection.vendor]["object"]
    sql = f"""
        INSERT INTO {DeliveryEvent._meta.db_table} (delivery_id, status, detail, at)
        SELECT d.id,
            CASE WHEN d.status = '{DeliveryStatus.CANCELLED}' THEN '{DeliveryStatus.CANCELLED}'
                 WHEN d.last_error = '{THROTTLED}' THEN '{THROTTLED}' ELSE 'held' END,
            CASE WHEN d.status = '{DeliveryStatus.CANCELLED}' THEN CASE d.last_error {reasons} END
                 WHEN d.last_error = '{THROTTLED}' THEN {throttle_history_detail(build)}
                 WHEN d.not_before = %(policy_hold)s THEN %(policy_reason_digest)s
                 ELSE {build}('reason', 'quiet_hours', 'until', d.not_before) END,
            %(now)s
        FROM {source} d
        WHERE (d.status = '{DeliveryStatus.CANCELLED}' AND d.last_error IN ({listed}))
           OR (d.status = '{DeliveryStatus.PENDING}' AND d.not_before IS NOT NULL)
    """
    params = {f"policy_reason_{reason}": _json({"reason": reason}) for reason in CANCEL_REASONS}
    params["policy_reason_digest"] = _json({"reason": "digest"})
    return sql, params
