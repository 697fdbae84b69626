"""Quiet hours: pure functions of (now, time zone, start, end), no database.

A window is [start, end) in the person's local wall-clock time; start > end means it
spans midnight (22:00–07:00). Its end is turned into an instant with the zone's rules
on that date, so a window across a DST change ends at the right local time: an end
that falls twice (clocks back) ends at its first occurrence after now, an end that a
jump skips (clocks forward) ends at the jump.
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def wall_time_to_instant(wall: datetime, zone: ZoneInfo, *, after: datetime) -> datetime:
    """The first instant after `after` whose local time reads `wall`, or, when a DST
    jump skips `wall`, the instant of the jump."""
    instants = sorted({wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)})
    for instant in instants:
        if _wall(instant, zone) == wall and instant > after:
            return instant
    # Skipped: the first instant whose wall time is at or past `wall` (offsets are whole
    # seconds, so bisecting to one second finds the jump exactly).
    low, high = instants[0], instants[-1]
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if _wall(middle, zone) >= wall:
            high = middle
        else:
            low = middle
    return high


def quiet_hold_until(*, now: datetime, tz: str, start: time, end: time) -> datetime | None:
    """When `now` is inside the quiet window, the instant (UTC) it ends; else None."""
    if start == end:
        return None
    zone = ZoneInfo(tz)
    local = _wall(now, zone)
    clock = local.time()
    if start < end:
        if not (start <= clock < end):
            return None
        end_date = local.date()
    else:  # across midnight
        if not (clock >= start or clock < end):
            return None
        end_date = local.date() + timedelta(days=1) if clock >= start else local.date()
    return wall_time_to_instant(datetime.combine(end_date, end), zone, after=now.astimezone(UTC))
