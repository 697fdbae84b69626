"""Delivery dashboard benchmark: the admin page an operator opens, timed with
1,000,000 deliveries in the table.

Seeds with set-based SQL (generate_series): 250,000 inbox items × 4 channels, created
over the last 7 days (about 143,000 in the last day, 6,000 in the last hour), mostly
sent, with failed, dead, pending and cancelled ones; then VACUUM ANALYZE, as
autovacuum would leave the table. Times GET of the dashboard through Django's test
client as a staff member of the operator group (the whole request: every query, Redis
reads and the template), and EXPLAINs each query the page made, to show the index it uses.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/notif_dashboard_bench \
        python bench/dashboard.py [--deliveries 1000000] [--runs 9]

The database named in DATABASE_URL is dropped and created again.
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["CONN_MAX_AGE"] = "0"

from bench.fanout import recreate_database, setup_django  # noqa: E402

CHANNELS = ["email", "sms", "push", "webhook"]
EVENTS = 250
DAYS = 7
# Status by the row's random draw r in [0, 1): cumulative shares.
STATUS_CASE = """CASE
    WHEN r < 0.85 THEN 'sent' WHEN r < 0.90 THEN 'delivered' WHEN r < 0.93 THEN 'failed'
    WHEN r < 0.95 THEN 'dead' WHEN r < 0.98 THEN 'pending' ELSE 'cancelled' END"""


def seed(deliveries: int) -> None:
    from django.db import connection

    from apps.events.models import EventType

    items = deliveries // len(CHANNELS)
    users = items // EVENTS
    event_type = EventType.objects.create(key="bench.dashboard", name="Dashboard benchmark")
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                                      is_staff, is_active, date_joined)
               SELECT '!', false, 'bench' || g, '', '', 'bench' || g || '@example.com', false, true, now()
               FROM generate_series(1, %s) g""",
            [users],
        )
        cursor.execute(
            """INSERT INTO events_event (event_type_id, subject_type, subject_id, data, idempotency_key,
                                         fanout_state, fanout_cursor, recipient_count, created_at)
               SELECT %s, '', '', '{"name": "bench"}', 'bench-' || g, 'done', 0, %s,
                      now() - (%s - g) * interval '7 days' / %s
               FROM generate_series(1, %s) g""",
            [event_type.pk, users, EVENTS, EVENTS, EVENTS],
        )
        cursor.execute(
            """INSERT INTO notifications_usernotification (event_id, user_id, address, title, body, url,
                                                           in_inbox, created_at)
               SELECT e.id, u.id, '', 'Bench', 'Bench body', '', true, e.created_at
               FROM events_event e CROSS JOIN auth_user u
               WHERE e.event_type_id = %s AND u.username LIKE 'bench%%'""",
            [event_type.pk],
        )
        # random() is volatile, so PostgreSQL evaluates the innermost SELECT once per
        # row and never folds it into the outer ones: each row gets its own draw.
        cursor.execute(
            f"""INSERT INTO delivery_delivery (notification_id, channel, status, attempts, last_error,
                                              provider_message_id, created_at, updated_at, sent_at)
               SELECT id, channel, status, CASE WHEN status = 'dead' THEN 5 ELSE 1 END,
                      CASE WHEN status IN ('failed', 'dead') THEN 'bench error' ELSE '' END,
                      '', created_at, created_at + interval '3 seconds',
                      CASE WHEN status IN ('sent', 'delivered') THEN created_at + interval '2 seconds' END
               FROM (
                   SELECT id, channel, created_at, {STATUS_CASE} AS status
                   FROM (
                       SELECT n.id, c.channel, random() AS r, now() - random() * interval '{DAYS} days' AS created_at
                       FROM notifications_usernotification n CROSS JOIN unnest(%s::text[]) AS c(channel)
                   ) drawn
               ) rows""",
            [CHANNELS],
        )
        cursor.execute("SELECT count(*) FROM delivery_delivery")
        print(f"seeded {cursor.fetchone()[0]:,} deliveries", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def operator_client():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    user = get_user_model().objects.create_user("bench-operator", "op@example.com", "pw-123456789", is_staff=True)
    user.groups.add(Group.objects.get(name="operator"))
    client = Client()
    client.force_login(user)
    return client


def plans(queries: list[dict]) -> list[tuple[str, float, str]]:
    """(query, its time in ms in the captured request, the scan lines of its plan) for
    each query on the delivery table."""
    from django.db import connection

    found = []
    for query in queries:
        sql = query["sql"]
        if "delivery_delivery" not in sql or not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}")
            lines = [row[0].strip() for row in cursor.fetchall()]
        scans = [re.sub(r"\s+\(cost.*", "", line.lstrip("-> ")) for line in lines if "Scan" in line]
        found.append((sql, float(query["time"]) * 1000, "; ".join(scans)))
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-write", action="store_true")
    # bench/run_all.py passes every benchmark the same options: ignore the others' ones.
    args, _ = parser.parse_known_args()

    url = os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notif_dashboard_bench")
    if not url.startswith("postgres"):
        sys.exit("bench/dashboard.py needs PostgreSQL: set DATABASE_URL=postgres://…")
    recreate_database(url)
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from bench.report import median, postgres_version, write_section

    started = time.monotonic()
    seed(args.deliveries)
    print(f"seeding took {time.monotonic() - started:.0f} s", flush=True)

    client = operator_client()
    url = reverse("admin:dashboard_deliverydashboard_changelist")
    for _ in range(2):  # warm: templates compiled, connections and caches made
        assert client.get(url).status_code == 200
    timings = []
    for run in range(args.runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and b'id="minute-chart"' in response.content
        print(f"run {run + 1}: {timings[-1]:.0f} ms", flush=True)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    explained = plans(captured.captured_queries)
    db_ms = sum(float(query["time"]) for query in captured.captured_queries) * 1000

    # Django's captured SQL has its parameters inlined: shortened for the table.
    rows = "\n".join(
        f"| `{re.sub(r'SELECT .*? FROM', 'SELECT … FROM', sql, count=1)[:150]}…` | {ms:.0f} | {scans} |"
        for sql, ms, scans in explained
    )
    body = f"""| figure | value |
|---|---:|
| deliveries in the table | {args.deliveries:,} |
| GET /admin/dashboard/deliverydashboard/, median of {args.runs} | {median(timings):.0f} ms |
| fastest / slowest | {min(timings):.0f} ms / {max(timings):.0f} ms |
| database time in one request ({len(captured.captured_queries)} queries) | {db_ms:.0f} ms |

{len(CHANNELS)} channels × {args.deliveries // len(CHANNELS):,} inbox items, created uniformly over the last {DAYS}
days (85 % sent, 5 % delivered, 3 % failed, 2 % dead, 3 % pending, 2 % cancelled), seeded with set-based SQL and
VACUUM ANALYZE'd. Timed through Django's test client as a member of the operator group: the whole request (session,
every query, the Redis reads of circuits, rate limits and queue depths, the template and its SVG). Target: under
300 ms. {postgres_version()}.

The page's queries on the delivery table, their time in one request and their plans (EXPLAIN, scan nodes only):

| query | ms | plan |
|---|---:|---|
{rows}
"""
    print(body)
    if not args.no_write:
        write_section(
            "dashboard",
            body,
            command="python bench/dashboard.py",
            figures=[(f"delivery dashboard, {args.deliveries:,} deliveries", f"{median(timings):.0f} ms")],
        )


if __name__ == "__main__":
    main()
