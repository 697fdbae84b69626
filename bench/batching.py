"""What batching windows save and cost.

N people subscribed to an event type on the inbox and email. 20 events of one subject
are fanned out (a) to a type without a window, (b) to a type with a 10-minute window,
whose items are then refreshed and whose windows are closed. Measured: inbox items and deliveries written (each
pending delivery is one message dispatch sends; dispatch itself is not run here, see
the dispatch benchmark for its rate), the fan-out time of each event, and the time of
closing the windows. The dispatch enqueue is not involved: this measures the database
work of the fan-out and the close.

    DATABASE_URL=postgres://…/bench python bench/batching.py   (BENCH_N, BENCH_EVENTS)
"""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.delivery.models import Delivery  # noqa: E402
from apps.events.models import Event, EventBatch, EventType  # noqa: E402
from apps.notifications.batch_close import batches_close_page  # noqa: E402
from apps.notifications.batch_refresh import batches_refresh  # noqa: E402
from apps.notifications.fanout import event_fan_out  # noqa: E402
from apps.notifications.models import UserNotification  # noqa: E402
from bench.preferences_fanout import insert_bench_users, remove_bench_users  # noqa: E402
from bench.report import median, postgres_version, write_section  # noqa: E402

N = int(os.environ.get("BENCH_N", 100_000))
EVENTS = int(os.environ.get("BENCH_EVENTS", 20))
WINDOW = 600


def remove_type(event_type) -> None:
    events = "SELECT id FROM events_event WHERE event_type_id = %s"
    items = f"SELECT id FROM notifications_usernotification WHERE event_id IN ({events})"
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM delivery_deliveryevent WHERE delivery_id IN"
            f" (SELECT id FROM delivery_delivery WHERE notification_id IN ({items}))",
            [event_type.pk],
        )
        cursor.execute(f"DELETE FROM delivery_delivery WHERE notification_id IN ({items})", [event_type.pk])
        cursor.execute(f"DELETE FROM notifications_usernotification WHERE event_id IN ({events})", [event_type.pk])
        cursor.execute("DELETE FROM events_eventbatch WHERE event_type_id = %s", [event_type.pk])
        cursor.execute("DELETE FROM events_event WHERE event_type_id = %s", [event_type.pk])
        cursor.execute("DELETE FROM subscriptions_subscription WHERE event_type_id = %s", [event_type.pk])
    event_type.delete()


def setup() -> tuple[EventType, EventType]:
    remove_bench_users()
    for key in ("bench.unbatched", "bench.batched"):
        for event_type in EventType.objects.filter(key=key):
            remove_type(event_type)
    plain = EventType.objects.create(key="bench.unbatched", name="Comment added")
    batched = EventType.objects.create(
        key="bench.batched", name="Comment added", batch_window_seconds=WINDOW, batch_noun="comments"
    )
    insert_bench_users(N)
    with connection.cursor() as cursor:
        for event_type in (plain, batched):
            cursor.execute(
                "INSERT INTO subscriptions_subscription (user_id, event_type_id, channel, subject_type, subject_id,"
                " enabled, is_default, created_at, updated_at) SELECT u.id, %s, c, '', '', true, false, now(), now()"
                " FROM auth_user u CROSS JOIN unnest(ARRAY['in_app', 'email']) c WHERE u.username LIKE 'bench-%%'",
                [event_type.pk],
            )
    connection.cursor().execute("VACUUM ANALYZE")
    return plain, batched


def burst(event_type) -> list[float]:
    """EVENTS events of one subject, each fanned out and timed."""
    times = []
    for i in range(EVENTS):
        event = Event.objects.create(
            event_type=event_type,
            subject_type="scenarios.scenario",
            subject_id="1",
            data={"name": "Checkout flow", "title": f"Comment {i}"},
        )
        started = time.perf_counter()
        event_fan_out(event_id=event.pk)
        times.append(time.perf_counter() - started)
        if i == 0:
            connection.cursor().execute("ANALYZE")  # statistics that have seen such rows, as on a live database
    return times


def written(event_type) -> tuple[int, int]:
    items = UserNotification.objects.filter(event__event_type=event_type).count()
    return items, Delivery.objects.filter(notification__event__event_type=event_type).count()


def close_all() -> tuple[float, int]:
    started, windows = time.perf_counter(), 0
    later = timezone.now() + timedelta(seconds=WINDOW + 1)
    while page := batches_close_page(now=later):
        windows += page.windows
    return time.perf_counter() - started, windows


def main() -> None:
    plain, batched = setup()
    plain_times = burst(plain)
    plain_items, plain_deliveries = written(plain)
    batched_times = burst(batched)
    started = time.perf_counter()
    refreshed = batches_refresh()  # beat's, before each close: the items' words, once for the burst
    refresh_seconds = time.perf_counter() - started
    close_seconds, windows = close_all()
    batched_items, batched_deliveries = written(batched)
    counts = set(EventBatch.objects.filter(event_type=batched).values_list("count", flat=True))
    assert counts == {EVENTS}, counts
    print("unbatched", [f"{t:.2f}" for t in plain_times], flush=True)
    print("batched", [f"{t:.2f}" for t in batched_times], f"close {close_seconds:.2f}s", flush=True)

    unbatched_median = median(plain_times)
    joined_median = median(batched_times[1:])
    rows = [
        f"| without a window | {plain_items:,} | {plain_deliveries:,} | {plain_deliveries:,} | "
        f"{unbatched_median:.2f} | {max(plain_times):.2f} | {sum(plain_times):.1f} | – | – |",
        f"| 10-minute window | {batched_items:,} | {batched_deliveries:,} | {batched_deliveries:,} | "
        f"{batched_times[0]:.2f} (opens) / {joined_median:.2f} (joins) | {max(batched_times):.2f} | "
        f"{sum(batched_times):.1f} | {refresh_seconds:.1f} ({refreshed:,} items) | "
        f"{close_seconds:.1f} ({windows:,} windows) |",
    ]
    ratio_first = batched_times[0] / unbatched_median
    ratio_joined = joined_median / unbatched_median
    body = "\n".join(
        [
            f"{EVENTS} events of one subject fanned out to {N:,} people subscribed on the inbox and email "
            f"({postgres_version()}, one backend, in one process, default chunk size), to an event type "
            "without a window and to one with a 10-minute window, whose items are then refreshed once "
            "(`batches_refresh`, beat's, before each close) and whose windows are closed "
            "(`batches_close_page` until none is due). Deliveries are written pending: each is one message "
            "dispatch sends (dispatch is not run here).",
            "",
            "| case | inbox items | deliveries written | messages to send | fan-out s per event (median) | "
            "slowest | all fan-outs s | refresh s | close s |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Batched, the burst writes {plain_deliveries // max(batched_deliveries, 1)}× fewer deliveries and "
            f"{plain_items // max(batched_items, 1)}× fewer inbox items. The fan-out of the event that opens "
            f"the windows takes {ratio_first:.2f}× an unbatched event's; of an event that joins them, "
            f"{ratio_joined:.2f}× (target: at most 1.5×). Every window counted all {EVENTS} events.",
        ]
    )
    figures = [
        (
            f"deliveries written, {EVENTS} events × {N:,} people, batched / not",
            f"{batched_deliveries:,} / {plain_deliveries:,}",
        ),
        ("batched fan-out time ÷ unbatched, opening / joining event", f"{ratio_first:.2f}× / {ratio_joined:.2f}×"),
    ]
    write_section("batching", body, "python bench/batching.py", figures)
    remove_type(plain)
    remove_type(batched)
    remove_bench_users()


if __name__ == "__main__":
    main()
