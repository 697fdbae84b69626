"""The inbox table, hash-partitioned by person: the statements of its migration path.

Past a billion rows one table's indexes no longer fit in memory and every vacuum walks
them all. Partitioned by hash of user_id, an inbox query (always `WHERE user_id = …`)
reads one partition's indexes, and each partition is vacuumed on its own. PostgreSQL
requires every unique key of a partitioned table to hold the partition key, so:

- the (event, user) key becomes UNIQUE (user_id, event_id): the same pairs, so the
  fan-out's `ON CONFLICT (event_id, user_id)` still finds it (a conflict target is a
  set of columns);
- the (event, address) key of address recipients (user_id NULL, all in one partition)
  becomes UNIQUE (user_id, event_id, address) NULLS NOT DISTINCT WHERE NOT (address =
  ''): the statements that insert address items name that target after the swap;
- the primary key (id) cannot stay (id alone lacks user_id, and user_id is nullable):
  UNIQUE NULLS NOT DISTINCT (user_id, id) takes its place, ids still come from one
  sequence, and the deliveries' foreign key to the item is dropped (Django still
  cascades deletes, as it does for the item's own keys).

Path, without downtime but the swap's lock (docs/scaling.md): `create` the partitioned
table, its partitions, indexes and a trigger that copies every write on the old table;
`backfill` the old rows in batches of ids, each batch its own transaction; `swap`
names in one short transaction. Run by `manage.py inbox_partition`.
"""

from django.db import connection, transaction

from .models import UserNotification

OLD = UserNotification._meta.db_table
NEW = f"{OLD}_by_user"
RETIRED = f"{OLD}_unpartitioned"
SEQUENCE = f"{NEW}_id_seq"
TRIGGER_FUNCTION = f"{NEW}_copy"
# Index names the model's migrations know, kept on the new table after the swap.
INDEXES = {
    "inbox_user_recent": "(user_id, id DESC)",
    "inbox_user_unread_awake": "(user_id, id DESC) INCLUDE (snoozed_until) "
    "WHERE archived_at IS NULL AND in_inbox AND read_at IS NULL",
}
UNIQUES = {
    "uniq_notification_user_id": "(user_id, id) NULLS NOT DISTINCT",
    "uniq_notification_event_user": "(user_id, event_id)",
    "uniq_notification_event_address": "(user_id, event_id, address) NULLS NOT DISTINCT WHERE NOT (address = '')",
}


def _columns() -> list[str]:
    return [field.column for field in UserNotification._meta.concrete_fields]


def create_statements(partitions: int) -> list[str]:
    columns = _columns()
    changed = ", ".join(f"{column} = excluded.{column}" for column in columns if column not in ("id", "user_id"))
    listed = ", ".join(columns)
    return [
        f"CREATE TABLE {NEW} (LIKE {OLD} INCLUDING DEFAULTS) PARTITION BY HASH (user_id)",
        *(
            f"CREATE TABLE {NEW}_{n} PARTITION OF {NEW} FOR VALUES WITH (MODULUS {partitions}, REMAINDER {n})"
            for n in range(partitions)
        ),
        f"CREATE SEQUENCE {SEQUENCE}",
        *(f"CREATE INDEX {name}_by_user ON {NEW} {spec}" for name, spec in INDEXES.items()),
        *(f"CREATE UNIQUE INDEX {name}_by_user ON {NEW} {spec}" for name, spec in UNIQUES.items()),
        # Every write on the old table from now on, copied: inserts and updates as an
        # upsert (the backfill never overwrites what this wrote), deletes as deletes.
        f"""
        CREATE FUNCTION {TRIGGER_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                DELETE FROM {NEW} WHERE user_id IS NOT DISTINCT FROM OLD.user_id AND id = OLD.id;
                RETURN NULL;
            END IF;
            INSERT INTO {NEW} ({listed}) VALUES ({", ".join(f"NEW.{column}" for column in columns)})
            ON CONFLICT (user_id, id) DO UPDATE SET {changed};
            RETURN NULL;
        END $$
        """,
        f"CREATE TRIGGER {TRIGGER_FUNCTION} AFTER INSERT OR UPDATE OR DELETE ON {OLD} "
        f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER_FUNCTION}()",
    ]


BACKFILL = f"""
    INSERT INTO {NEW} SELECT * FROM {OLD} WHERE id > %s AND id <= %s
    ON CONFLICT (user_id, id) DO NOTHING
"""


def backfill(*, batch: int, report=None) -> int:
    """Copy the old table's rows in batches of `batch` ids, each batch a transaction of
    its own (short locks, progress kept). Returns the rows copied."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(max(id), 0) FROM {OLD}")  # noqa: S608 - names from the model
        (last,) = cursor.fetchone()
    copied, after = 0, 0
    while after < last:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BACKFILL, [after, after + batch])
            copied += cursor.rowcount
        after += batch
        if report:
            report(after, last, copied)
    return copied


def _foreign_keys_to_old(cursor) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' AND confrelid = %s::regclass",
        [OLD],
    )
    return cursor.fetchall()


def swap_statements(cursor) -> list[str]:
    renames = [*INDEXES, *UNIQUES]
    return [
        # Deferred key checks of this transaction now: a table with pending ones cannot change.
        "SET CONSTRAINTS ALL IMMEDIATE",
        # Writers wait here for the few milliseconds the renames take.
        f"LOCK TABLE {OLD} IN ACCESS EXCLUSIVE MODE",
        f"SELECT setval('{SEQUENCE}', (SELECT COALESCE(max(id), 0) + 1 FROM {OLD}), false)",
        f"ALTER TABLE {NEW} ALTER COLUMN id SET DEFAULT nextval('{SEQUENCE}')",
        *(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"' for table, name in _foreign_keys_to_old(cursor)),
        f"DROP TRIGGER {TRIGGER_FUNCTION} ON {OLD}",
        f"DROP FUNCTION {TRIGGER_FUNCTION}()",
        f"ALTER TABLE {OLD} RENAME TO {RETIRED}",
        # (Renaming a constraint's index renames the constraint too.)
        *(f"ALTER INDEX IF EXISTS {name} RENAME TO {name}_unpartitioned" for name in renames),
        f"ALTER TABLE {NEW} RENAME TO {OLD}",
        *(f"ALTER INDEX {name}_by_user RENAME TO {name}" for name in renames),
        f"ALTER SEQUENCE {SEQUENCE} OWNED BY {OLD}.id",
    ]


def create(*, partitions: int) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in create_statements(partitions):
            cursor.execute(statement)


def swap() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in swap_statements(cursor):
            cursor.execute(statement)
