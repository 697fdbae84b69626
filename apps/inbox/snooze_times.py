"""The snooze choices of the inbox page, as times in the person's own time zone: "in an
hour", "tomorrow at 9:00", "next Monday at 9:00". Worked out when the form is sent, so
a page left open all night still snoozes from the moment of the click."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MORNING = time(9, 0)
SNOOZE_CHOICES = {
    "hour": "1 hour",
    "tomorrow": "Tomorrow 9:00",
    "next-week": "Monday 9:00",
}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def snooze_until(choice: str, *, now: datetime, tz: str) -> datetime | None:
    """The aware time `choice` means from `now` in zone `tz`; None for an unknown choice."""
    local = now.astimezone(_zone(tz))
    if choice == "hour":
        return now + timedelta(hours=1)
    if choice == "tomorrow":
        day = local.date() + timedelta(days=1)
    elif choice == "next-week":
        day = local.date() + timedelta(days=7 - local.weekday())
    else:
        return None
    return datetime.combine(day, MORNING, tzinfo=local.tzinfo)
