"""Fan-out's tasks, and fan_out_enqueue: the one way work enters this stage.

Each committed chunk's deliveries are handed to dispatch here, through
delivery's deliveries_enqueue, on the queues of the chunk's priority.
"""

import logging

from celery import shared_task

from apps.common.priorities import queue_for
from apps.common.retry import DATABASE_OUTAGE_RETRY
from apps.delivery.tasks import deliveries_enqueue, deliveries_enqueue_routed
from apps.events.selectors import event_fanout_overdue
from apps.events.services import events_relay_schedule

from .batch_close import batches_close_page
from .batch_refresh import batches_refresh
from .fanout import FanOutChunk, event_fan_out_chunks
from .fanout_ranges import FanOutRanges, event_fan_out_ranges_plan, range_fan_out_chunks
from .selectors import pending_delivery_ids_for_chunk
from .send_cancel import send_deliveries_cancel

logger = logging.getLogger(__name__)

# Events per task for a bulk request: a broker round trip per event would cost a
# 1000-item bulk request seconds.
FAN_OUT_BATCH = 50


def fan_out_enqueue(*, event_ids: list[int], priority: str) -> None:
    """Queue the fan-out of events on the fan-out queue of `priority`: one task for one
    event, else one per FAN_OUT_BATCH events."""
    queue = queue_for("fanout", priority)
    if len(event_ids) == 1:
        fan_out_task.apply_async(args=[event_ids[0]], queue=queue)
        return
    for start in range(0, len(event_ids), FAN_OUT_BATCH):
        fan_out_batch_task.apply_async(args=[event_ids[start : start + FAN_OUT_BATCH]], queue=queue)


def fan_out_ranges_enqueue(ranges: FanOutRanges) -> None:
    """Queue one task per range of a large event on the fan-out queue of its priority:
    any worker on any host takes one. A range queued twice (the relay, a redelivery)
    is fanned out once: its row lock and cursor see to it."""
    queue = queue_for("fanout", ranges.priority)
    for range_id in ranges.range_ids:
        fan_out_range_task.apply_async(args=[range_id], queue=queue)


def _chunk_deliveries_enqueue(chunk: FanOutChunk) -> None:
    if chunk.deliveries_created == 0:
        return
    for channel, delivery_ids in pending_delivery_ids_for_chunk(
        event_id=chunk.event_id, after_user_id=chunk.after_user_id, upto_user_id=chunk.upto_user_id
    ):
        deliveries_enqueue(channel=channel, delivery_ids=delivery_ids, priority=chunk.priority)


def _fan_out(event_id: int) -> None:
    """A large event is split into ranges handed to every worker; a small one is
    fanned out here."""
    ranges = event_fan_out_ranges_plan(event_id=event_id)
    if ranges is not None:
        fan_out_ranges_enqueue(ranges)
        return
    for chunk in event_fan_out_chunks(event_id=event_id):
        _chunk_deliveries_enqueue(chunk)


@shared_task(name="notifications.fan_out", acks_late=True, reject_on_worker_lost=True, **DATABASE_OUTAGE_RETRY)
def fan_out_task(event_id: int) -> None:
    _fan_out(event_id)


@shared_task(
    name="notifications.fan_out_range", bind=True, acks_late=True, reject_on_worker_lost=True, **DATABASE_OUTAGE_RETRY
)
def fan_out_range_task(self, range_id: int) -> None:
    for chunk in range_fan_out_chunks(range_id=range_id, taken_by=self.request.hostname or ""):
        _chunk_deliveries_enqueue(chunk)


@shared_task(name="notifications.fan_out_batch", acks_late=True, reject_on_worker_lost=True, **DATABASE_OUTAGE_RETRY)
def fan_out_batch_task(event_ids: list[int]) -> None:
    """The fan-outs of a bulk send's small events, one after the other; each is
    idempotent, so a redelivered batch redoes only what is not done."""
    for event_id in event_ids:
        _fan_out(event_id)


def outbox_relay() -> int:
    """Re-enqueue the fan-out of the overdue events whose turn it is, at most
    OUTBOX_RELAY_BATCH_SIZE, each at its own priority (a direct send's included);
    returns how many. Their next turn is set first, so an event that stays stuck goes
    to the back of the line."""
    overdue = event_fanout_overdue()
    events_relay_schedule(event_ids=[pk for ids in overdue.values() for pk in ids])
    for priority, event_ids in overdue.items():
        fan_out_enqueue(event_ids=event_ids, priority=priority)
    count = sum(map(len, overdue.values()))
    if count:
        logger.warning("outbox relay re-drove %d events", count)
    return count


# Named for the outbox it reads (apps.events), as beat's rows know it.
@shared_task(name="events.outbox_relay")
def outbox_relay_task() -> int:
    return outbox_relay()


@shared_task(
    name="notifications.direct_send_cancel", acks_late=True, reject_on_worker_lost=True, **DATABASE_OUTAGE_RETRY
)
def direct_send_cancel_task(send_id: int, by: str) -> int:
    """The rest of a large send's pending deliveries (each move is conditional: a re-run
    or a race with the inline part cancels nothing twice)."""
    cancelled, _ = send_deliveries_cancel(send_id=send_id, by=by)
    return cancelled


def batches_close(*, now=None) -> int:
    """Bring the open windows' inbox items up to date (batch_refresh.py), then close
    every window due, a page (one transaction) at a time, handing each page's
    deliveries to dispatch once it has committed; returns how many windows closed. A
    crash between the two leaves them pending for the stale sweeper."""
    batches_refresh()
    closed = 0
    while page := batches_close_page(now=now):
        closed += page.windows
        deliveries_enqueue_routed(delivery_ids=page.pending_delivery_ids)
    return closed


# Two closers at once close each window once (SKIP LOCKED): no slot lock needed.
@shared_task(name="notifications.batches_close", acks_late=True, **DATABASE_OUTAGE_RETRY)
def batches_close_task() -> int:
    return batches_close()
