"""Digest windows, as pure functions of (now, time zone, frequency).

Hourly windows close on the hour; daily ones at DIGEST_SEND_HOUR local time; weekly
ones at that hour on DIGEST_WEEKDAY (0 = Monday), in the person's time zone.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from apps.subscriptions.quiet_hours import wall_time_to_instant

STEP = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}


def _last_close_wall(local: datetime, frequency: str, send_hour: int, weekday: int) -> datetime:
    """The wall-clock time of the latest close at or before `local` (naive)."""
    if frequency == "hourly":
        return local.replace(minute=0, second=0, microsecond=0)
    close = datetime.combine(local.date(), time(send_hour))
    if frequency == "weekly":
        close -= timedelta(days=(local.weekday() - weekday) % 7)
    if close > local:
        close -= STEP[frequency]
    return close


def digest_window(*, now: datetime, tz: str, frequency: str, send_hour: int = 8, weekday: int = 0):
    """(start, end) of the latest window closed at or before `now`, as aware instants."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone).replace(tzinfo=None)
    end_wall = _last_close_wall(local, frequency, send_hour, weekday)
    start_wall = end_wall - STEP[frequency]
    before = now - timedelta(weeks=2)  # any instant before both
    return (
        wall_time_to_instant(start_wall, zone, after=before),
        wall_time_to_instant(end_wall, zone, after=before),
    )
