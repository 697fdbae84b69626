"""Range fan-out: a large event's audience split into user id ranges that any number of
worker processes, on any number of hosts, fan out at once.

Planning reads three user ids of the audience's driving index (its first, the one at
FANOUT_RANGES_FROM, its last) and splits the span into ranges of equal width, so
Python holds the boundaries, never the recipients. The ranges are inserted in one statement
under the event's row lock: a second planner (a redelivery, the outbox relay) finds
them and plans nothing twice.

Each range is fanned out by the one-task path's chunk statements, bounded by the range,
under its own row lock and with its own cursor (RangePlace): a redelivered or re-run
range resumes at its cursor, and ON CONFLICT DO NOTHING makes a chunk whose commit was
lost harmless to redo. The range that finishes last marks the event done.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.events.models import Event, FanoutState

from .fanout import Audience, EventPlace, FanOutChunk, _chunk_end, event_audience, place_fan_out_chunks
from .models import FanOutRange


@dataclass(frozen=True)
class FanOutRanges:
    """The ranges of an event still to fan out, and the priority they travel at."""

    event_id: int
    priority: str
    range_ids: list[int]


def _undone(event: Event) -> FanOutRanges | None:
    """The event's undone ranges, or None when it has none planned."""
    rows = list(FanOutRange.objects.filter(event_id=event.pk).values_list("pk", "done_at"))
    if not rows:
        return None
    return FanOutRanges(event.pk, event.priority, [pk for pk, done_at in rows if done_at is None])


def _last_user(audience: Audience, params: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(audience.last_user_sql, params)
        return cursor.fetchone()[0]


def _boundaries(audience: Audience, params: dict) -> list[int] | None:
    """The last user id of each range but the last (which runs to the end), or None
    when the audience is below FANOUT_RANGES_FROM: one task's work.

    Three probes whatever the audience's size: its first user, the user at
    FANOUT_RANGES_FROM (a walk of that many index entries) and its last. The ranges have
    the width in user ids that holds FANOUT_RANGE_SIZE subscriptions where the audience
    is as dense as over its first FANOUT_RANGES_FROM; where it is sparser they hold
    fewer, where denser more, walked in chunks all the same. Stepping the whole index to
    make them even would cost a walk of the audience before the first range starts."""
    params = {**params, "after": 0, "upto": None}
    at_threshold = _chunk_end(audience, params, settings.FANOUT_RANGES_FROM)
    if at_threshold is None:
        return None
    first, last = _chunk_end(audience, params, 1), _last_user(audience, params)
    width = max(1, (at_threshold - first + 1) * settings.FANOUT_RANGE_SIZE // settings.FANOUT_RANGES_FROM)
    return list(range(first - 1 + width, last, width))


def event_fan_out_ranges_plan(*, event_id: int) -> FanOutRanges | None:
    """The ranges of `event_id` still to fan out, planned now if need be; None when
    the event is one task's work (small, already under way as one task, or not to be
    fanned out)."""
    if not settings.FANOUT_RANGES_FROM:
        return None
    event = Event.objects.select_related("event_type").filter(pk=event_id).first()
    if event is None:
        return None
    # Ranges are planned in the transaction that moves the event to running.
    planned = _undone(event) if event.fanout_state == FanoutState.RUNNING else None
    if planned is not None and not planned.range_ids:
        _event_complete(event.pk, timezone.now())  # every range done: nothing else would mark it
        return planned
    if planned is not None or event.fanout_cursor or event.fanout_state == FanoutState.DONE:
        return planned
    audience = event_audience(event)
    if audience is None:
        return None
    params = {
        "event_type_id": event.event_type_id,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "critical": event.event_type.critical,
        **audience.params,
    }
    # Walked before the lock is taken: a concurrent planner waits only for the insert.
    bounds = _boundaries(audience, params)
    if bounds is None:
        return None
    with transaction.atomic():
        locked = Event.objects.select_for_update().get(pk=event_id)
        planned = _undone(locked)
        if planned is not None or locked.fanout_cursor or locked.fanout_state == FanoutState.DONE:
            return planned
        starts, ends = [0, *bounds], [*bounds, None]
        FanOutRange.objects.bulk_create(
            FanOutRange(event_id=event_id, after_user_id=start, upto_user_id=end, cursor=start)
            for start, end in zip(starts, ends, strict=True)
        )
        Event.objects.filter(pk=event_id).update(fanout_state=FanoutState.RUNNING, fanout_heartbeat_at=timezone.now())
        return _undone(locked)


class RangePlace(EventPlace):
    """Where a range's fan-out resumes: its own row's cursor. Its row lock serialises
    the runs of one range (a redelivery racing the first delivery); ranges of the same
    event run side by side."""

    def __init__(self, fan_out_range: FanOutRange, taken_by: str = ""):
        super().__init__(fan_out_range.event_id)
        self.range_id = fan_out_range.pk
        self.start = fan_out_range.after_user_id
        self.end = fan_out_range.upto_user_id
        self.taken_by = taken_by

    def claim(self) -> tuple[Event, int] | None:
        row = (
            FanOutRange.objects.select_for_update(of=("self",)).select_related("event").filter(pk=self.range_id).first()
        )
        if row is None or row.done_at is not None or row.event.fanout_state == FanoutState.DONE:
            return None  # done, or the event was cancelled
        return row.event, row.cursor

    def advance(self, event: Event, upto: int | None, inserted: int) -> None:
        finished = upto == self.end
        now = timezone.now()
        FanOutRange.objects.filter(pk=self.range_id).update(
            cursor=F("cursor") if upto is None else upto,
            notifications_created=F("notifications_created") + inserted,
            done_at=now if finished else None,
            taken_by=self.taken_by,
        )
        # Last: the event's row lock is held from here to the commit only. Taken by
        # every range's finishing transaction in turn, it also makes the check below
        # see the ranges that finished before this one.
        Event.objects.filter(pk=event.pk).update(fanout_heartbeat_at=now)
        if finished:
            _event_complete(event.pk, now)


def _event_complete(event_id: int, now) -> bool:
    """Mark the event done when none of its ranges is left, with the sum of what they
    made; True if this call did."""
    ranges = FanOutRange.objects.filter(event_id=OuterRef("pk"))
    made = ranges.values("event_id").annotate(total=Sum("notifications_created")).values("total")
    return bool(
        Event.objects.filter(pk=event_id)
        .exclude(fanout_state=FanoutState.DONE)
        .exclude(Exists(ranges.filter(done_at__isnull=True)))
        .update(fanout_state=FanoutState.DONE, fanned_out_at=now, recipient_count=Coalesce(Subquery(made), 0))
    )


def range_fan_out_chunks(*, range_id: int, chunk_size: int | None = None, taken_by: str = "") -> Iterator[FanOutChunk]:
    """Fan out one range, yielding each chunk once it has committed; `taken_by` names
    the worker doing it."""
    row = FanOutRange.objects.select_related("event__event_type", "event__actor").filter(pk=range_id).first()
    if row is None or row.done_at is not None:
        return
    audience = event_audience(row.event)
    if audience is None:
        return
    yield from place_fan_out_chunks(
        row.event, audience, RangePlace(row, taken_by), chunk_size or settings.FANOUT_CHUNK_SIZE
    )


def range_fan_out(*, range_id: int, chunk_size: int | None = None) -> int:
    """Fan out one range without handing its deliveries on (tests: the task is what
    hands them to dispatch); returns how many items this run added."""
    return sum(chunk.notifications_created for chunk in range_fan_out_chunks(range_id=range_id, chunk_size=chunk_size))
