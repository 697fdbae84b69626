"""The quiet-hours window, as pure functions of (now, zone, start, end)."""

from datetime import UTC, datetime, time

import pytest

from apps.subscriptions.quiet_hours import quiet_hold_until

NY = "America/New_York"


def until(now, start, end, tz=NY):
    return quiet_hold_until(now=now, tz=tz, start=start, end=end)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 22:00–07:00 in New York (EDT, UTC-4) on an ordinary June night.
        (datetime(2026, 6, 11, 1, 59, tzinfo=UTC), None),  # 21:59 local: not yet
        (datetime(2026, 6, 11, 2, 0, tzinfo=UTC), datetime(2026, 6, 11, 11, 0, tzinfo=UTC)),  # 22:00: starts
        (
            datetime(2026, 6, 11, 3, 30, tzinfo=UTC),
            datetime(2026, 6, 11, 11, 0, tzinfo=UTC),
        ),  # 23:30: to 07:00 next day
        (datetime(2026, 6, 11, 10, 59, tzinfo=UTC), datetime(2026, 6, 11, 11, 0, tzinfo=UTC)),  # 06:59: a minute left
        (datetime(2026, 6, 11, 11, 0, tzinfo=UTC), None),  # 07:00: over
    ],
)
def test_a_window_across_midnight(now, expected):
    assert until(now, time(22), time(7)) == expected


def test_a_window_within_one_day():
    assert until(datetime(2026, 6, 11, 17, 0, tzinfo=UTC), time(12), time(14)) == datetime(2026, 6, 11, 18, tzinfo=UTC)
    assert until(datetime(2026, 6, 11, 19, 0, tzinfo=UTC), time(12), time(14)) is None
    assert until(datetime(2026, 6, 11, 19, 0, tzinfo=UTC), time(9), time(9)) is None  # empty window


def test_across_the_spring_forward_night_the_window_ends_at_local_seven():
    # 7 March 23:00 EST (UTC-5); clocks jump 02:00 → 03:00 on 8 March; 07:00 is EDT (UTC-4).
    now = datetime(2026, 3, 8, 4, 0, tzinfo=UTC)
    assert until(now, time(22), time(7)) == datetime(2026, 3, 8, 11, 0, tzinfo=UTC)  # 7 hours, not 8


def test_across_the_fall_back_night_the_window_ends_at_local_seven():
    # 31 October 23:00 EDT (UTC-4); clocks go back 02:00 → 01:00 on 1 November; 07:00 is EST.
    now = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    assert until(now, time(22), time(7)) == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # 9 hours


def test_an_end_skipped_by_the_jump_ends_at_the_jump():
    # 02:30 does not exist on 8 March 2026 in New York: the window ends at 03:00 EDT.
    now = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert until(now, time(1), time(2, 30)) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_an_end_that_happens_twice_ends_at_the_next_one():
    # 01:30 happens twice on 1 November 2026: first at 05:30Z (EDT), again at 06:30Z (EST).
    assert until(datetime(2026, 11, 1, 4, 45, tzinfo=UTC), time(0), time(1, 30)) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )
    # In the repeated hour (01:15 EST, after the first 01:30 passed) the next 01:30 is the second.
    assert until(datetime(2026, 11, 1, 6, 15, tzinfo=UTC), time(22), time(1, 30)) == datetime(
        2026, 11, 1, 6, 30, tzinfo=UTC
    )


def test_the_time_zone_matters():
    now = datetime(2026, 6, 11, 23, 30, tzinfo=UTC)
    assert until(now, time(22), time(7), tz="UTC") == datetime(2026, 6, 12, 7, 0, tzinfo=UTC)
    assert until(now, time(22), time(7), tz="Asia/Tokyo") is None  # 08:30 there
