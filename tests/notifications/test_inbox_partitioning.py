"""The documented plan for the inbox past a billion rows, run on PostgreSQL: the table
moved to hash partitions by person (create, backfill in batches with writes going on,
swap), then the inbox query reads one partition and the (event, user) key still refuses
a duplicate. All in the test's transaction, rolled back after."""

import io
import re

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.delivery.models import Delivery
from apps.events.models import Event
from apps.notifications import partitioning
from apps.notifications.models import UserNotification
from apps.notifications.selectors import inbox_item_rows, inbox_visible_list

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="declarative partitioning is PostgreSQL's"),
]

PARTITIONS = 8


def item(event, user, **fields):
    return UserNotification.objects.create(event=event, user=user, title="t", created_at=timezone.now(), **fields)


@pytest.fixture
def inbox_rows(make_user, event_types):
    people = [make_user(f"part{n}") for n in range(12)]
    events = [Event.objects.create(event_type=event_types["scenario.created"], data={"n": n}) for n in range(6)]
    rows = [item(event, person) for event in events for person in people]
    rows.append(item(events[0], None, address="someone@example.com", in_inbox=False))
    now = timezone.now()
    Delivery.objects.create(notification=rows[0], channel="email", created_at=now, updated_at=now)
    return people, events, rows


def test_the_inbox_moves_to_hash_partitions_and_its_query_reads_one(inbox_rows, make_user):
    people, events, rows = inbox_rows
    call_command("inbox_partition", "create", "--partitions", str(PARTITIONS))
    # Writes during the backfill: the trigger copies them.
    during = item(Event.objects.create(event_type=events[0].event_type, data={}), people[3])
    UserNotification.objects.filter(pk=rows[5].pk).update(read_at=timezone.now())
    UserNotification.objects.filter(pk=rows[6].pk).delete()
    copied = partitioning.backfill(batch=10)
    # All but the deleted one and the updated one (the trigger's copy stays).
    assert copied == len(rows) - 2
    call_command("inbox_partition", "swap")

    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = %s", [UserNotification._meta.db_table])
        assert cursor.fetchone() == ("p",)  # the model's table is now the partitioned one
        cursor.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = %s::regclass", [UserNotification._meta.db_table]
        )
        assert cursor.fetchone() == (PARTITIONS,)
    assert UserNotification.objects.count() == len(rows) + 1 - 1  # + the one written meanwhile, - the deleted
    assert UserNotification.objects.get(pk=rows[5].pk).read_at is not None
    assert UserNotification.objects.filter(pk=during.pk).exists()
    assert not UserNotification.objects.filter(pk=rows[6].pk).exists()

    # The inbox page's own query (ORM, first page): one partition in its plan.
    page = inbox_item_rows(inbox_visible_list(user=people[0]))[:51]
    plan = page.explain()
    scanned = set(re.findall(rf"{partitioning.NEW}_\d+", plan))
    assert len(scanned) == 1, plan
    assert len(list(page)) == len(events)

    # The (event, user) key, now (user_id, event_id), refuses a second item.
    with pytest.raises(IntegrityError), transaction.atomic():
        item(events[1], people[2])
    # The fan-out's own conflict target still finds the key: a second insert is skipped.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {UserNotification._meta.db_table} (event_id, user_id, address, title, body, url, in_inbox, "
            "created_at) VALUES (%s, %s, '', 't', '', '', true, now()) ON CONFLICT (event_id, user_id) DO NOTHING",
            [events[1].pk, people[2].pk],
        )
        assert cursor.rowcount == 0
    # An address recipient's key too.
    with pytest.raises(IntegrityError), transaction.atomic():
        item(events[0], None, address="someone@example.com", in_inbox=False)
    # New items take ids after every old one, from the table's sequence.
    newest = item(events[1], make_user("part-late"))
    assert newest.pk > max(row.pk for row in rows)
    # Deliveries still point at their items (Django cascades; the database key is gone).
    assert Delivery.objects.get(notification_id=rows[0].pk).notification.pk == rows[0].pk


def test_sql_prints_the_whole_path():
    out = io.StringIO()
    call_command("inbox_partition", "sql", "--partitions", "4", stdout=out)
    sql = out.getvalue()
    assert "PARTITION BY HASH (user_id)" in sql
    assert sql.count("PARTITION OF") == 4
    assert "(user_id, event_id)" in sql and "RENAME TO" in sql
