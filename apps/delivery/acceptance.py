"""A provider's acceptances, recorded as they happen.

A delivery the provider accepted is moved to `sent` (with its history row) by one
statement, before its sender has more than DELIVERY_ACCEPTANCE_WINDOW acceptances not
yet recorded: a sender that reaches the window waits for the write before it sends
again. The claim, the recovery of a dead worker's orphans and the sweeper take only
`pending` or `sending` rows, so nothing recorded here is sent again. A process killed
mid-batch therefore resends at most DELIVERY_ACCEPTANCE_WINDOW messages per open
connection (with a window of 1: the one it was sending, or the one whose acceptance
it was writing).

Senders run in threads (SMTP shares a batch over parallel connections), and Django's
connections belong to one thread: every write goes through the dispatching thread's
connection, one writer at a time. Whoever takes the write lock writes every acceptance
waiting (group commit), so parallel connections share their statements. The write
commits asynchronously (synchronous_commit off for it alone): the record has to
survive the worker's death, which it does once PostgreSQL has it; only a crash of
PostgreSQL itself within its WAL writer delay could lose one, and that costs a resend.

On SQLite (development only) nothing is written early: the batch is recorded at its
end, and a crash resends it.

Only acceptances are written early: a refused or failed message is recorded with the
rest of the batch (deliveries_record_results); lost in a crash, it is merely tried again.
"""

import json
import sys
import threading
from collections import Counter

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from .channels.base import BatchStopped, SendResult
from .models import Delivery, DeliveryEvent, DeliveryStatus
from .outcomes import Outcome

# One statement: the delivery moves from `sending` to `sent` and its history row is
# written, or (moved meanwhile by a sweeper or a callback) neither happens.
ACCEPTED_SQL = f"""
    WITH async_commit AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true) AS value),
    accepted AS (
        UPDATE {Delivery._meta.db_table} AS d
        SET status = '{DeliveryStatus.SENT}', last_error = a.error, provider_message_id = a.provider_message_id,
            sent_at = %(now)s, updated_at = %(now)s
        FROM unnest(%(ids)s::bigint[], %(message_ids)s::text[], %(errors)s::text[], %(details)s::jsonb[])
            AS a(id, provider_message_id, error, detail)
        WHERE d.id = a.id AND d.status = '{DeliveryStatus.SENDING}'
        RETURNING d.id, d.attempts, a.detail
    )
    INSERT INTO {DeliveryEvent._meta.db_table} (delivery_id, status, detail, at)
    SELECT id, '{DeliveryStatus.SENT}', detail || jsonb_build_object('attempt', attempts), %(now)s
    FROM accepted CROSS JOIN async_commit
    RETURNING delivery_id, (detail ->> 'attempt')::int
"""


def _history_detail(result: SendResult) -> dict:
    return {"outcome": str(Outcome.SENT), **result.detail}


class AcceptanceRecorder:
    """The `report` given to a channel's send_batch (see channels/base.py); use as a
    context manager in the dispatching thread."""

    def __init__(self, connection=None, window: int | None = None):
        # The dispatching thread's own wrapper, not the `connection` proxy, which would
        # open a connection per sending thread.
        self.connection = connection or connections[DEFAULT_DB_ALIAS]
        self.window = max(1, window or settings.DELIVERY_ACCEPTANCE_WINDOW)
        if self.connection.vendor != "postgresql":
            # SQLite (development) has neither the statement nor concurrent writers:
            # acceptances are recorded with the rest of the batch.
            self.window = sys.maxsize
        # Acceptances reported and not yet recorded, per sending thread (connection).
        self._unrecorded: Counter = Counter()
        self.results: list[SendResult] = []  # every answer reported, in order
        self.recorded: set[int] = set()  # delivery ids moved to `sent` here
        self._written: list[tuple[int, dict, object]] = []  # (id, detail, at) of their history rows
        self._waiting: list[SendResult] = []
        self._state = threading.Lock()
        self._write = threading.Lock()
        self._closed = False

    def __enter__(self) -> "AcceptanceRecorder":
        # Sender threads write through this thread's connection, one at a time.
        self.connection.inc_thread_sharing()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
        self.connection.dec_thread_sharing()

    def __call__(self, *results: SendResult) -> None:
        accepted = [r for r in results if r.outcome == Outcome.SENT]
        sender = threading.get_ident()
        with self._state:
            if self._closed:
                raise BatchStopped("the batch was stopped")
            self.results.extend(results)
            self._waiting.extend((sender, r) for r in accepted)
            self._unrecorded[sender] += len(accepted)
            if self._unrecorded[sender] < self.window:
                return  # within the window: send on
        with self._write:
            # Ours were written by an earlier holder of the lock, or are still waiting.
            with self._state:
                group, self._waiting = self._waiting, []
                closed = self._closed
            if group and not closed:
                self._record([r for _, r in group])
                with self._state:
                    self._unrecorded.subtract(s for s, _ in group)
        if closed:
            raise BatchStopped("the batch was stopped")

    def close(self) -> None:
        """No more reports: a sender still running (a stalled connection) gets
        BatchStopped and writes nothing once this returns."""
        with self._write, self._state:
            self._closed = True

    @property
    def history(self) -> list[DeliveryEvent]:
        """The history rows written here, for the observers (built once, after the batch:
        model instances cost more than the write itself)."""
        return [
            DeliveryEvent(delivery_id=pk, status=DeliveryStatus.SENT, detail=detail, at=at)
            for pk, detail, at in self._written
        ]

    def _record(self, group: list[SendResult]) -> None:
        now = timezone.now()
        by_id = {r.delivery_id: r for r in group}
        details = {pk: _history_detail(r) for pk, r in by_id.items()}
        params = {
            "now": now,
            "ids": list(by_id),
            "message_ids": [r.provider_message_id[:200] for r in by_id.values()],
            # Sent, with a note of what failed on the way (a push subscription gone, say).
            "errors": [r.error for r in by_id.values()],
            "details": [json.dumps(detail, default=str) for detail in details.values()],
        }
        self.connection.ensure_connection()
        # A server-side-binding cursor: the same statement, with its parameters apart,
        # is prepared by psycopg after a few runs, so PostgreSQL parses and plans it once
        # per connection rather than once per acceptance (Django's cursors bind on the
        # client: a new statement text each time).
        with psycopg.Cursor(self.connection.connection) as cursor:
            cursor.execute(ACCEPTED_SQL, params)
            rows = cursor.fetchall()
        for delivery_id, attempt in rows:
            self.recorded.add(delivery_id)
            self._written.append((delivery_id, {**details[delivery_id], "attempt": attempt}, now))
