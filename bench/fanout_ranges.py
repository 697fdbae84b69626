"""Range fan-out against the one-task path and django-notifications' `notify.send`, all
in one invocation on PostgreSQL with a real Celery worker of 2 processes:

- per size, runs interleaved (one task, ranges, one task, ranges, …), so the machine's
  drift falls on both alike; each run starts its worker, publishes one event and times
  the publishing commit → the event marked done (in the transaction of its last range,
  after every other range committed);
- once, the largest size (`--big`, 10,000,000 by default; 0 skips it) by ranges only,
  with the worker's peak RSS;
- `notify.send` (bench/peers/notify_send.py) at `--peer-sizes`;
- PostgreSQL's own ceiling (bench/sql_ceiling.py): per size and run, the same number of
  rows inserted into a copy of the inbox table by one statement and by 2 side by side;
- event commit → inbox item visible for `--latency-events` one-person events in a row.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/notifications_bench_ranges \\
        python bench/fanout_ranges.py [--runs 3] [--sizes 10000,100000,1000000] [--big 0]

The database named in DATABASE_URL and `<it>_notify` are dropped and created again; the
Redis database is emptied.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")
os.environ["CONN_MAX_AGE"] = "0"

from bench.fanout import (  # noqa: E402
    _event_type,
    clear_inbox,
    make_audiences,
    recreate_database,
    setup_django,
    worker_peak_rss_mb,
)
from bench.fanout_peers import run_notify_send  # noqa: E402
from bench.sql_ceiling import insert_seconds, postgres_settings  # noqa: E402

COMMAND = "make bench  (python bench/fanout_ranges.py)"
CONCURRENCY = 2
# The one-task path: ranges switched off (FANOUT_RANGES_FROM=0), as before them.
MODES = {"one task": {"FANOUT_RANGES_FROM": "0"}, "ranges": {}}
# PostgreSQL's ceiling: plain inserts by one statement and by CONCURRENCY at once, into
# one table, then each into a table of its own (partitions aligned with the ranges).
SQL_MODES = {"sql one": (1, False), "sql parallel": (CONCURRENCY, False), "sql apart": (CONCURRENCY, True)}


def start_worker(env: dict):
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "notifications_project", "worker", "-Q", "fanout"]
        + ["-c", str(CONCURRENCY), "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=ROOT,
        env={**os.environ, "CONN_MAX_AGE": "60", **env},
        start_new_session=True,
    )
    from notifications_project.celery import app

    for _ in range(200):
        if app.control.ping(timeout=0.5):
            return process
    raise RuntimeError("worker did not start")


def stop_worker(process) -> None:
    process.terminate()
    process.wait(30)


def publish(event_type_id: int, on_commit=None):
    """Publish in a transaction of its own; returns the event and the moment of its
    commit (an on_commit hook registered before the publish's own runs first)."""
    from django.db import transaction

    from apps.notifications.publish import event_publish

    committed = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(time.perf_counter()))
        event, _ = event_publish(event_type=_event_type(event_type_id), data={"bench": True})
    return event, committed[0]


def run_one(event_type_id: int, env: dict) -> tuple[float, float, int]:
    """Seconds from commit to the event done, the worker's peak RSS, the items made."""
    from apps.events.models import Event, FanoutState

    worker = start_worker(env)
    try:
        event, committed = publish(event_type_id)
        while not Event.objects.filter(pk=event.pk, fanout_state=FanoutState.DONE).exists():
            time.sleep(0.005)
        elapsed = time.perf_counter() - committed
        return elapsed, worker_peak_rss_mb(worker), Event.objects.get(pk=event.pk).recipient_count
    finally:
        stop_worker(worker)


def run_latency(event_type_id: int, events: int) -> list[float]:
    """Commit → the one person's inbox item visible, for `events` events in a row."""
    from apps.notifications.models import UserNotification

    worker = start_worker({})
    seconds = []
    try:
        for _ in range(events):
            event, committed = publish(event_type_id)
            while not UserNotification.objects.filter(event_id=event.pk).exists():
                time.sleep(0.001)
            seconds.append(time.perf_counter() - committed)
    finally:
        stop_worker(worker)
    return seconds


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--peer-sizes", default="10000,100000")
    parser.add_argument("--big", type=int, default=10_000_000, help="run once by ranges only (0: skip)")
    parser.add_argument("--latency-events", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args, _ = parser.parse_known_args()  # make bench passes every benchmark the same options
    sizes = [int(s) for s in args.sizes.split(",") if s]  # none: only --big
    peer_sizes = [int(s) for s in args.peer_sizes.split(",") if s and int(s) in sizes]

    url = os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notifications_bench_ranges")
    if not url.startswith("postgres"):
        sys.exit("bench/fanout_ranges.py needs PostgreSQL: set DATABASE_URL=postgres://…")
    recreate_database(url)
    setup_django()
    import redis
    from django.conf import settings

    from bench.report import median

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    print("creating audiences…", flush=True)
    type_ids = make_audiences(sorted({1, *sizes, *([args.big] if args.big else [])}))

    rows = []
    for size in sizes:
        times = {mode: [] for mode in [*MODES, *SQL_MODES]}
        rss = {mode: [] for mode in MODES}
        for run in range(args.runs):
            for mode, env in MODES.items():
                clear_inbox()
                seconds, peak, made = run_one(type_ids[size], env)
                assert made == size, f"{mode}: {made} items for {size} recipients"
                times[mode].append(seconds)
                rss[mode].append(peak)
                print(f"{size:>10} run {run + 1} {mode:>8}: {seconds:.2f}s ({size / seconds:,.0f}/s, {peak:.0f} MB)")
            for mode, (parts, apart) in SQL_MODES.items():
                seconds = insert_seconds(url, size, parts, apart)
                times[mode].append(seconds)
                print(f"{size:>10} run {run + 1} {mode}: {seconds:.2f}s ({size / seconds:,.0f}/s)", flush=True)
        medians = {mode: median(runs) for mode, runs in times.items()}
        rows.append({"size": size, **medians, "rss": max(rss["ranges"])})

    notify = {}
    for size in peer_sizes:
        runs, _ = run_notify_send(size, args.runs, url.split("?")[0] + "_notify")
        notify[size] = median(runs)
        print(f"{size:>10} notify.send: {', '.join(f'{s:.2f}s' for s in runs)}", flush=True)

    if sizes:
        clear_inbox()
        latency = run_latency(type_ids[1], args.latency_events)
        p50, p99 = percentile(latency, 0.5) * 1000, percentile(latency, 0.99) * 1000
        print(f"one-person event, commit → inbox item: p50 {p50:.1f} ms, p99 {p99:.1f} ms", flush=True)
        write_sizes(args, rows, notify, (p50, p99))

    if args.big:
        clear_inbox()
        seconds, peak, made = run_one(type_ids[args.big], MODES["ranges"])
        assert made == args.big, f"{made} items for {args.big} recipients"
        print(f"{args.big:>10} once by ranges: {seconds:.1f}s ({args.big / seconds:,.0f}/s, {peak:.0f} MB)")
        write_big(args, seconds, peak)


def write_big(args, seconds: float, peak: float) -> None:
    from django.conf import settings

    from bench.report import write_section

    body = (
        f"{args.big:,} recipients, once, by ranges: {seconds:.1f} s from the publishing commit to the event done "
        f"({args.big / seconds:,.0f} items/s); worker peak RSS {peak:.0f} MB (largest VmHWM of its processes). "
        f"A real Celery worker (prefork, {CONCURRENCY} children), `FANOUT_RANGE_SIZE={settings.FANOUT_RANGE_SIZE:,}`, "
        f"chunks of {settings.FANOUT_CHUNK_SIZE:,}."
    )
    print(body)
    if not args.no_write:
        figures = [(f"ranges, {args.big:,} recipients (once)", f"{seconds:.1f} s, worker {peak:.0f} MB")]
        command = f"python bench/fanout_ranges.py --sizes '' --big {args.big}"
        write_section("fanout-ranges-big", body, command=command, figures=figures)


def write_sizes(args, rows: list[dict], notify: dict, latency: tuple[float, float]) -> None:
    from django.conf import settings

    from bench.report import write_section

    p50, p99 = latency

    lines = [
        "| recipients | one task | ranges | ranges vs one task | rows/s by ranges "
        "| SQL: one statement | SQL: 2 at once | PostgreSQL's ceiling | ceiling, 2 tables "
        "| `notify.send` | `notify.send` vs ranges |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    figures = []
    for row in rows:
        size, one, ranged = row["size"], row["one task"], row["ranges"]
        sql_one, sql_parallel = row["sql one"], row["sql parallel"]
        ceiling, apart = sql_one / sql_parallel, sql_one / row["sql apart"]
        peer = (f"{notify[size]:.2f} s", f"{notify[size] / ranged:.0f}×") if size in notify else ("—", "—")
        # Below the threshold both workers take the one-task path: the pair shows the noise.
        small = " (one task: below `FANOUT_RANGES_FROM`)" if size < settings.FANOUT_RANGES_FROM else ""
        lines.append(
            f"| {size:,} | {one:.2f} s | {ranged:.2f} s{small} | {one / ranged:.2f}× | {size / ranged:,.0f} "
            f"| {sql_one:.2f} s | {sql_parallel:.2f} s | {ceiling:.2f}× | {apart:.2f}× | {peer[0]} | {peer[1]} |"
        )
        figures.append(
            (
                f"ranges, {size:,} recipients{small}",
                f"{ranged:.2f} s = {one / ranged:.2f}× one task (PostgreSQL's ceiling {ceiling:.2f}×)",
            )
        )
    figures.append(("one-person event, commit → inbox item p50 / p99", f"{p50:.0f} ms / {p99:.0f} ms"))
    body = "\n".join(lines) + (
        f"\n\nMedian of {args.runs} interleaved runs per size, in one invocation. Both paths run on a real Celery "
        f"worker (prefork, {CONCURRENCY} children) started for each run, on Redis and PostgreSQL on this machine; "
        "the clock runs from the publishing commit to the event marked done. One task: `FANOUT_RANGES_FROM=0`, "
        f"the event walked by one task in chunks of {settings.FANOUT_CHUNK_SIZE:,}. Ranges: the defaults "
        f"(`FANOUT_RANGES_FROM={settings.FANOUT_RANGES_FROM:,}`, `FANOUT_RANGE_SIZE={settings.FANOUT_RANGE_SIZE:,}`). "
        f"Worker peak RSS by ranges (largest VmHWM of its processes): {max(r['rss'] for r in rows):.0f} MB. "
        "`notify.send` is django-notifications-community's, in a subprocess with its own database (one `save()` "
        "per recipient). PostgreSQL's ceiling (bench/sql_ceiling.py), measured in each run beside the two paths: "
        "as many rows inserted by plain SQL into a copy of the inbox table (its columns and indexes) by one "
        f"statement, and by {CONCURRENCY} statements at once over equal halves; their ratio is what parallel "
        "fan-out could reach here if it cost nothing but the inserts. The ceiling with 2 tables: the same "
        "halves, each into a copy of its own (what inbox partitions aligned with the ranges could reach). "
        f"PostgreSQL's settings: {postgres_settings(os.environ['DATABASE_URL'])}. "
        "Commit → inbox item visible for a one-person event, "
        f"{args.latency_events} events in a row on the same worker: p50 {p50:.1f} ms, p99 {p99:.1f} ms."
    )
    print(body)
    if not args.no_write:
        write_section("fanout-ranges", body, command=COMMAND, figures=figures)


if __name__ == "__main__":
    main()
