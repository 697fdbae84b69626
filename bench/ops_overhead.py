"""What observing fan-out costs: metrics and live-inbox receivers on
`fan_out_chunk_committed`, and the time of one /metrics scrape.

Fan-out of one event to N subscribers (in-app + email: N inbox items, N pending
deliveries) is timed with the service's receivers connected and disconnected,
interleaved, median of RUNS each. Run on a PostgreSQL database of its own:

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/notifications_bench \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/15 python bench/ops_overhead.py
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notifications_bench"
)
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from apps.events.models import Event, EventType  # noqa: E402
from apps.inbox.live import inbox_channel, live_client  # noqa: E402
from apps.inbox.receivers import publish_new_items  # noqa: E402
from apps.notifications.fanout import event_fan_out  # noqa: E402
from apps.notifications.signals import fan_out_chunk_committed  # noqa: E402
from apps.ops.receivers import observe_fan_out_chunk  # noqa: E402
from bench.report import median, postgres_version, write_section  # noqa: E402

RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "100000"))
WATCHERS = int(os.environ.get("BENCH_WATCHERS", "1000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
RECEIVERS = [(observe_fan_out_chunk, "ops.fan_out_metrics"), (publish_new_items, "inbox.live_publish")]


def setup() -> EventType:
    call_command("migrate", verbosity=0)
    event_type, _ = EventType.objects.get_or_create(key="bench.ops", defaults={"name": "Bench ops"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM subscriptions_subscription WHERE event_type_id = %s", [event_type.pk])
        if cursor.fetchone()[0] != 2 * RECIPIENTS:
            cursor.execute("DELETE FROM subscriptions_subscription WHERE event_type_id = %s", [event_type.pk])
            cursor.execute(
                """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
                   SELECT '!', false, 'bench-ops-' || g, '', '', '', false, true, now()
                   FROM generate_series(1, %s) g
                   ON CONFLICT (username) DO NOTHING""",
                [RECIPIENTS],
            )
            cursor.execute(
                """INSERT INTO subscriptions_subscription
                       (user_id, event_type_id, channel, enabled, subject_type, subject_id, created_at, updated_at)
                   SELECT u.id, %s, c.channel, true, '', '', now(), now()
                   FROM auth_user u CROSS JOIN (VALUES ('in_app'), ('email')) c(channel)
                   WHERE u.username LIKE 'bench-ops-%%' AND u.id <= (
                       SELECT id FROM auth_user WHERE username LIKE 'bench-ops-%%' ORDER BY id OFFSET %s LIMIT 1)""",
                [event_type.pk, RECIPIENTS - 1],
            )
        cursor.execute("ANALYZE")
    return event_type


def clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE delivery_deliveryevent, delivery_delivery, notifications_usernotification")
        cursor.execute(
            "DELETE FROM events_event WHERE event_type_id IN (SELECT id FROM events_eventtype WHERE key = 'bench.ops')"
        )


def timed_fan_out(event_type, connected: bool) -> float:
    clear()
    for receiver, uid in RECEIVERS:
        fan_out_chunk_committed.disconnect(dispatch_uid=uid)
        if connected:
            fan_out_chunk_committed.connect(receiver, dispatch_uid=uid)
    event = Event.objects.create(event_type=event_type, data={"name": "bench"})
    started = time.perf_counter()
    event_fan_out(event_id=event.pk)
    return time.perf_counter() - started


def scrape_seconds(client) -> float:
    started = time.perf_counter()
    response = client.get("/metrics")
    assert response.status_code == 200
    return time.perf_counter() - started


def main():
    event_type = setup()
    user_ids = list(
        connection.cursor().execute("SELECT id FROM auth_user WHERE username LIKE 'bench-ops-%%' ORDER BY id")
    )
    watchers = live_client().pubsub()
    if WATCHERS:
        spread = user_ids[:: max(len(user_ids) // WATCHERS, 1)][:WATCHERS]
        watchers.subscribe(*(inbox_channel(row[0]) for row in spread))
    times = {"without": [], "with": []}
    for _ in range(RUNS):
        times["without"].append(timed_fan_out(event_type, connected=False))
        times["with"].append(timed_fan_out(event_type, connected=True))
    client = Client()
    # N pending email deliveries are in the table now: the scrape's oldest-pending query sees them.
    scrapes = [scrape_seconds(client) for _ in range(5)]
    watchers.close()
    clear()

    without, with_ = median(times["without"]), median(times["with"])
    body = f"""
Fan-out of one event to {RECIPIENTS:,} subscribers (in-app + email: {RECIPIENTS:,} inbox items and
{RECIPIENTS:,} pending deliveries, chunks of 50,000), {postgres_version()}, in one process;
{WATCHERS:,} of the recipients have a live inbox stream open (pub/sub subscribers). Median of {RUNS}
interleaved runs.

| receivers on `fan_out_chunk_committed` | fan-out seconds | inbox items/s |
|---|---|---|
| none | {without:.2f} | {RECIPIENTS / without:,.0f} |
| metrics + live inbox publish | {with_:.2f} | {RECIPIENTS / with_:,.0f} |

Overhead of observing: {100 * (with_ - without) / without:+.1f} % of the fan-out time.

One `/metrics` scrape (HTTP metrics, queue depth of {len(settings.CELERY_TASK_QUEUES)} queues,
oldest pending delivery per channel) with {RECIPIENTS:,} pending deliveries in the table:
median {1000 * median(scrapes):.1f} ms of 5.
"""
    print(body)
    command = f"BENCH_RECIPIENTS={RECIPIENTS} BENCH_WATCHERS={WATCHERS} BENCH_RUNS={RUNS} python bench/ops_overhead.py"
    write_section("ops: cost of observing fan-out", body, command)


if __name__ == "__main__":
    main()
