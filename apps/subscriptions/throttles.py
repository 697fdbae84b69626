"""Per-recipient throttles, decided in the delivery INSERT like every other preference
(policy.py): at most N deliveries per person and channel in a fixed window.

Two kinds of rule, both read once per statement, never per person:
- an event type's own (EventType.throttle_limit per throttle_window_seconds, on every
  external channel), counted per event type;
- THROTTLE_LIMITS of the settings ("email=20/3600"), counted over every type.

Before its INSERT, a statement adds one to the counter (ThrottleCounter) of each person
and channel it is about to write, per rule, in one upsert per rule; the INSERT then
joins those counters: a delivery whose counter went past the limit is throttled. It
stays pending with last_error "throttled" and is held until the window's end
(overflow "hold": beat's release of held deliveries sends it then) or into the
person's digest (overflow "digest": DIGEST_HOLD; hourly for a person without one).
Its history says `throttled`, with the rule and until when.

Windows are fixed (aligned on the epoch), so "the next window" is the same instant
for everyone. Critical event types are never throttled (the policy skips them).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection

from apps.common.channels import Channel
from apps.events.models import WEEK, EventType

from .models import ThrottleCounter

COUNTERS = ThrottleCounter._meta.db_table
THROTTLED = "throttled"
HOLD, DIGEST = "hold", "digest"
ALL_TYPES = 0
# The longest window a rule may have (the API and the admin refuse longer ones).
THROTTLE_WINDOW_MAX = timedelta(seconds=WEEK)


@dataclass(frozen=True)
class ThrottleRule:
    scope: int  # the event type's id, or ALL_TYPES
    channels: tuple[str, ...]
    limit: int
    window: timedelta
    overflow: str


def _settings_rule(item: str) -> ThrottleRule:
    """One THROTTLE_LIMITS item, "channel=limit/seconds" ("/seconds" omitted: an hour)."""
    channel, _, rate = item.partition("=")
    limit, _, seconds = rate.partition("/")
    channel = channel.strip()
    if channel not in Channel.values or channel == Channel.IN_APP:
        raise ValueError(f"THROTTLE_LIMITS: {item!r} names no external channel")
    try:
        window = timedelta(seconds=int(seconds or 3600))
        rule = ThrottleRule(ALL_TYPES, (channel,), int(limit), window, HOLD)
    except ValueError:
        raise ValueError(f"THROTTLE_LIMITS: {item!r} is not channel=limit/seconds") from None
    if rule.limit < 1 or not timedelta(0) < window <= THROTTLE_WINDOW_MAX:
        raise ValueError(f"THROTTLE_LIMITS: {item!r} needs a limit of 1 or more and a window up to a week")
    return rule


def settings_rules() -> list[ThrottleRule]:
    """THROTTLE_LIMITS: "channel=limit/seconds" items, for every event type."""
    return [_settings_rule(item) for item in settings.THROTTLE_LIMITS]


def throttle_settings_check(app_configs=None, **kwargs) -> list:
    """A system check: a bad THROTTLE_LIMITS stops the start rather than every fan-out."""
    from django.core.checks import Error

    try:
        settings_rules()
    except ValueError as exc:
        return [Error(str(exc), id="subscriptions.E001")]
    return []


def throttle_rules(*, event_type_id: int | None) -> list[ThrottleRule]:
    """The rules a statement of this event type applies."""
    rules = settings_rules()
    if event_type_id is None:
        return rules
    own = EventType.objects.filter(pk=event_type_id, throttle_limit__isnull=False).values_list(
        "throttle_limit", "throttle_window_seconds", "throttle_overflow"
    )
    for limit, seconds, overflow in own:
        channels = tuple(c for c in Channel.values if c != Channel.IN_APP)
        rules.append(ThrottleRule(event_type_id, channels, limit, timedelta(seconds=seconds), overflow))
    return rules


def window_start(now: datetime, window: timedelta) -> datetime:
    seconds = window.total_seconds()
    return datetime.fromtimestamp(now.timestamp() // seconds * seconds, tz=UTC)


@dataclass(frozen=True)
class ThrottleSql:
    """What a delivery statement adds: the counter upserts to run before it, its joins,
    the condition "throttled", and the CASE branches of not_before for it."""

    before: list[tuple[str, dict]]
    joins: str
    throttled: str
    not_before_cases: list[str]
    params: dict


def throttle_sql(*, rules: list[ThrottleRule], recipients, params: dict, now, digest_hold: datetime) -> ThrottleSql:
    adapt = connection.ops.adapt_datetimefield_value
    before, joins, conditions, cases, extra = [], "", [], [], {}
    for i, rule in enumerate(rules):
        start = window_start(now, rule.window)
        keys = {f"thr_channel_{i}_{j}": channel for j, channel in enumerate(rule.channels)}
        channels = ", ".join(f"%({key})s" for key in keys)
        rule_params = {
            f"thr_scope_{i}": rule.scope,
            f"thr_start_{i}": adapt(start),
            f"thr_limit_{i}": rule.limit,
            f"thr_until_{i}": adapt(digest_hold if rule.overflow == DIGEST else start + rule.window),
            **keys,
        }
        extra.update(rule_params)
        # In (person, channel) order: concurrent fan-outs lock the counters in one order.
        before.append(
            (
                f"""
                INSERT INTO {COUNTERS} (user_id, channel, scope, window_start, count)
                SELECT x.u, x.c, %(thr_scope_{i})s, %(thr_start_{i})s, 1 FROM (
                    SELECT DISTINCT {recipients.user} AS u, {recipients.channel} AS c
                    FROM {recipients.from_sql}
                    WHERE {recipients.where_sql} AND {recipients.channel} IN ({channels})
                ) x WHERE x.u IS NOT NULL
                ORDER BY x.u, x.c
                ON CONFLICT (user_id, channel, scope, window_start) DO UPDATE SET count = {COUNTERS}.count + 1
                """,
                {**params, **rule_params},
            )
        )
        joins += (
            f" LEFT JOIN {COUNTERS} tc{i} ON tc{i}.user_id = {recipients.user} AND tc{i}.channel = {recipients.channel}"
            f" AND tc{i}.scope = %(thr_scope_{i})s AND tc{i}.window_start = %(thr_start_{i})s"
        )
        condition = f"COALESCE(tc{i}.count > %(thr_limit_{i})s, FALSE)"
        conditions.append(condition)
        cases.append(f"WHEN {condition} THEN %(thr_until_{i})s")
    return ThrottleSql(
        before=before,
        joins=joins,
        throttled=" OR ".join(f"({c})" for c in conditions),
        not_before_cases=cases,
        params=extra,
    )


def throttle_history_detail(build: str) -> str:
    """The history detail of a throttled delivery (alias d): until when, or the digest."""
    return f"{build}('reason', '{THROTTLED}', 'until', d.not_before)"
