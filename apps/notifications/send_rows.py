"""The rows of new direct sends, written in one statement on PostgreSQL.

A bulk request of ten sends is thirty-odd rows in three tables (events, sends, their
recipients). Written by three ORM bulk_creates, most of the request's CPU went in
compiling those INSERTs and adapting each of their hundreds of values one by one.
Here each column travels as one array and one statement writes all three tables
(data-modifying CTEs), so the cost no longer grows with the ORM's work per value.

The model instances stay the definition of each row: the statement takes every
concrete column's value from them, as the ORM would write it (`_Table.arrays`), so a
field added to a model is written here too. Other databases (SQLite for local runs)
use bulk_create.
"""

import functools
import json

from django.db import connection, models

from apps.events.models import Event

from .models import DirectSend, DirectSendRecipient

RECIPIENT_BATCH = 5000

# What each of this module's columns is cast from: an array per column, of this type.
_ARRAY_TYPES = {
    models.BigAutoField: "bigint",
    models.AutoField: "int",
    models.BigIntegerField: "bigint",
    models.IntegerField: "int",
    models.CharField: "text",
    models.TextField: "text",
    models.DateTimeField: "timestamptz",
    models.JSONField: "jsonb",
    models.BooleanField: "boolean",
}


class _Table:
    """A model's columns as the statement writes them: every concrete column but the
    primary key and the one linking a row to its parent's new row (found once, not per
    request)."""

    def __init__(self, model: type[models.Model], link: str = ""):
        self.model, self.link = model, link
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.column != link]
        self.names = [field.column for field in self.fields]

    def unnest(self, alias: str, extra: str) -> str:
        """`unnest(%s::type[], …) AS alias(column, …, extra)`: one array parameter per
        column, then one of bigints for `extra`."""
        casts = [f"%s::{_array_type(field)}[]" for field in self.fields]
        return f"unnest({', '.join(casts)}, %s::bigint[]) AS {alias}({', '.join(self.names)}, {extra})"

    def arrays(self, objs: list[models.Model]) -> list[list]:
        """Each column's values over objs, as the ORM would write them: defaults and
        auto_now_add applied by pre_save, JSON encoded to text."""
        arrays = []
        for field in self.fields:
            values = [field.pre_save(obj, add=True) for obj in objs]
            if isinstance(field, models.JSONField):
                values = [None if value is None else json.dumps(value, cls=field.encoder) for value in values]
            arrays.append(values)
        return arrays


def _array_type(field: models.Field) -> str:
    if isinstance(field, models.ForeignKey):
        return _array_type(field.target_field)
    for kind in type(field).__mro__:
        if kind in _ARRAY_TYPES:
            return _ARRAY_TYPES[kind]
    raise TypeError(f"{field} has no array type here")


EVENTS = _Table(Event)
SENDS = _Table(DirectSend, link=DirectSend._meta.get_field("event").column)
RECIPIENTS = _Table(DirectSendRecipient, link=DirectSendRecipient._meta.get_field("send").column)


def _columns(table: _Table, prefix: str) -> str:
    return ", ".join(prefix + name for name in table.names)


@functools.cache
def _statement() -> str:
    """Events, their sends, the sends' recipients; answers (position, event id, send
    id) per send, in the order given. Each row finds its new parent by the event's
    unique idempotency key and the send's event, never by the order of RETURNING."""
    key = Event._meta.get_field("idempotency_key").column
    return f"""
    WITH e AS (
        SELECT * FROM {EVENTS.unnest("e", extra="ord")}
    ), new_events AS (
        INSERT INTO {Event._meta.db_table} ({_columns(EVENTS, "")})
        SELECT {_columns(EVENTS, "e.")} FROM e ORDER BY e.ord
        RETURNING id, {key}
    ), events AS (
        SELECT e.ord, new_events.id FROM e JOIN new_events USING ({key})
    ), s AS (
        SELECT * FROM {SENDS.unnest("s", extra="ord")}
    ), new_sends AS (
        INSERT INTO {DirectSend._meta.db_table} ({SENDS.link}, {_columns(SENDS, "")})
        SELECT events.id, {_columns(SENDS, "s.")} FROM s JOIN events USING (ord) ORDER BY s.ord
        RETURNING id, {SENDS.link}
    ), sends AS (
        SELECT events.ord, new_sends.{SENDS.link} AS event_id, new_sends.id
        FROM events JOIN new_sends ON new_sends.{SENDS.link} = events.id
    ), new_recipients AS (
        INSERT INTO {DirectSendRecipient._meta.db_table} ({RECIPIENTS.link}, {_columns(RECIPIENTS, "")})
        SELECT sends.id, {_columns(RECIPIENTS, "r.")} FROM {RECIPIENTS.unnest("r", extra="ord")}
        JOIN sends USING (ord)
    )
    SELECT ord, event_id, id FROM sends ORDER BY ord
    """


def send_rows_insert(
    *, events: list[Event], sends: list[DirectSend], recipients: list[list[DirectSendRecipient]]
) -> None:
    """Insert events[i], sends[i] (its send) and recipients[i] (that send's recipients),
    setting the new primary keys and links on the instances, as bulk_create does."""
    if connection.vendor != "postgresql":
        send_rows_insert_orm(events=events, sends=sends, recipients=recipients)
        return
    people = [person for group in recipients for person in group]
    owners = [position for position, group in enumerate(recipients, start=1) for _ in group]
    params = [
        *EVENTS.arrays(events),
        list(range(1, len(events) + 1)),
        *SENDS.arrays(sends),
        list(range(1, len(sends) + 1)),
        *RECIPIENTS.arrays(people),
        owners,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        rows = cursor.fetchall()
    for (_, event_id, send_id), event, send, group in zip(rows, events, sends, recipients, strict=True):
        event.pk = event_id
        event._state.adding = False
        send.event_id, send.pk = event_id, send_id
        send._state.adding = False
        for person in group:
            person.send_id = send_id


def send_rows_insert_orm(*, events, sends, recipients) -> None:
    """What send_rows_insert does, by the ORM's bulk_create: on other databases, and the
    reference its tests and bench/bulk_rows.py compare the statement with."""
    Event.objects.bulk_create(events)
    for event, send in zip(events, sends, strict=True):
        send.event = event
    DirectSend.objects.bulk_create(sends)
    for send, group in zip(sends, recipients, strict=True):
        for person in group:
            person.send = send
    DirectSendRecipient.objects.bulk_create(
        [person for group in recipients for person in group], batch_size=RECIPIENT_BATCH
    )
