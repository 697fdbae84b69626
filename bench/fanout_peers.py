"""Our fan-out side by side with two peers, all measured in the same run on the same
machine, audience and Redis:

- ours: one `notifications.fan_out` task (set-based SQL in keyset chunks) on a real
  Celery worker; the clock runs from the publishing commit to the event marked done;
- one Celery task per recipient: a task walks the subscribers and enqueues one task
  each, which creates one inbox row (bench/peers/per_recipient_tasks.py) — on the same
  worker; the clock runs from the enqueue to the last inbox row;
- django-notifications' `notify.send` to a queryset of recipients (one save() each), in
  a subprocess with its own settings and database (bench/peers/notify_send.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/notifications_bench_peers \\
    REDIS_URL=redis://127.0.0.1:6379/8 \\
        python bench/fanout_peers.py [--runs 3] [--sizes 10000,100000] [--per-task-sizes 10000]

The database named in DATABASE_URL and `<it>_notify` are dropped and created again; the
Redis database is emptied.
"""

import argparse
import json
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

PER_TASK_MODULE = "bench.peers.per_recipient_tasks"
COMMAND = "make bench  (python bench/fanout_peers.py)"


def start_worker(concurrency: int):
    """One worker for ours and the per-task peer: the fan-out queue, with the peer's tasks."""
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "notifications_project", "worker", "-Q", "fanout"]
        + ["-c", str(concurrency), "--without-gossip", "--without-mingle", "-l", "WARNING"]
        + ["--include", PER_TASK_MODULE],
        cwd=ROOT,
        # Persistent connections as in production: a task per recipient would otherwise
        # pay a connection each.
        env={**os.environ, "CONN_MAX_AGE": "60"},
        start_new_session=True,
    )
    from notifications_project.celery import app

    for _ in range(200):
        if app.control.ping(timeout=0.5):
            return process
    raise RuntimeError("worker did not start")


def run_ours(event_type_id: int) -> float:
    from django.db import transaction

    from apps.events.models import Event, FanoutState
    from apps.notifications.publish import event_publish

    with transaction.atomic():
        event, _ = event_publish(event_type=_event_type(event_type_id), data={"bench": True})
    committed = time.perf_counter()
    while not Event.objects.filter(pk=event.pk, fanout_state=FanoutState.DONE).exists():
        time.sleep(0.01)
    return time.perf_counter() - committed


def run_per_task(event_type_id: int, size: int) -> float:
    from apps.events.models import Event, FanoutState
    from apps.notifications.models import UserNotification
    from bench.peers.per_recipient_tasks import QUEUE, fan_out_per_recipient_task

    # Marked done so that the outbox relay, were beat running, would leave it alone.
    event = Event.objects.create(event_type_id=event_type_id, data={"bench": True}, fanout_state=FanoutState.DONE)
    start = time.perf_counter()
    fan_out_per_recipient_task.apply_async((event.pk,), queue=QUEUE)
    items = UserNotification.objects.filter(event=event)
    while items.count() < size:
        time.sleep(0.1)
    return time.perf_counter() - start


def run_notify_send(size: int, runs: int, database_url: str) -> tuple[list[float], float]:
    env = {**os.environ, "PEER_DATABASE_URL": database_url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peers" / "notify_send.py"), "--size", str(size), "--runs", str(runs)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [r["seconds"] for r in results], max(r["peak_rss_mb"] for r in results)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--peer-sizes", default="10000,100000", help="sizes to run notify.send at")
    parser.add_argument("--per-task-sizes", default="10000", help="one task per recipient is slow: sizes to run it at")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    peer_sizes = {int(s) for s in args.peer_sizes.split(",") if s}
    per_task_sizes = {int(s) for s in args.per_task_sizes.split(",") if s} & peer_sizes

    url = os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notifications_bench_peers")
    if not url.startswith("postgres"):
        sys.exit("bench/fanout_peers.py needs PostgreSQL: set DATABASE_URL=postgres://…")
    notify_url = url.split("?")[0] + "_notify"
    recreate_database(url)
    setup_django()
    import redis
    from django.conf import settings

    from bench.report import median, write_section

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    print("creating audiences…", flush=True)
    type_ids = make_audiences(sizes)
    worker = start_worker(args.concurrency)
    rows = []
    try:
        for size in sizes:
            ours, per_task = [], []
            for run in range(args.runs):
                clear_inbox()
                ours.append(run_ours(type_ids[size]))
                if size in per_task_sizes:
                    clear_inbox()
                    per_task.append(run_per_task(type_ids[size], size))
                print(
                    f"{size:>9} run {run + 1}: ours {ours[-1]:.2f}s"
                    + (f", one task per recipient {per_task[-1]:.2f}s" if per_task else ""),
                    flush=True,
                )
            notify, notify_rss = [], float("nan")
            if size in peer_sizes:
                notify, notify_rss = run_notify_send(size, args.runs, notify_url)
                print(f"{size:>9} notify.send: {', '.join(f'{s:.2f}s' for s in notify)} (peak {notify_rss:.0f} MB)")
            rows.append(
                {
                    "size": size,
                    "ours": median(ours),
                    "per_task": median(per_task) if per_task else None,
                    "notify": median(notify) if notify else None,
                    "notify_rss": notify_rss,
                }
            )
        worker_rss = worker_peak_rss_mb(worker)
    finally:
        worker.terminate()
        worker.wait(30)

    def peer(seconds, ours):
        return f"{seconds:.2f} s ({seconds / ours:.1f}× ours)" if seconds is not None else "not run (for time)"

    notify_peak = max((row["notify_rss"] for row in rows if row["notify"] is not None), default=0)
    lines = [
        "| recipients | ours | one Celery task per recipient | django-notifications `notify.send` |",
        "|---:|---:|---:|---:|",
    ]
    figures = []
    for row in rows:
        lines.append(
            f"| {row['size']:,} | {row['ours']:.2f} s ({row['size'] / row['ours']:,.0f}/s) "
            f"| {peer(row['per_task'], row['ours'])} | {peer(row['notify'], row['ours'])} |"
        )
        figures.append((f"ours, {row['size']:,} recipients", f"{row['ours']:.2f} s"))
        if row["per_task"] is not None:
            ratio = row["per_task"] / row["ours"]
            figures.append((f"one task per recipient, {row['size']:,}", f"{row['per_task']:.2f} s = {ratio:.0f}× ours"))
        if row["notify"] is not None:
            ratio = row["notify"] / row["ours"]
            figures.append((f"notify.send, {row['size']:,}", f"{row['notify']:.2f} s = {ratio:.0f}× ours"))
    body = "\n".join(lines) + (
        f"\n\nMedian of {args.runs} runs per size, all in one invocation. Ours and the per-recipient peer run on the "
        f"same Celery worker (prefork, {args.concurrency} children, peak RSS {worker_rss:.0f} MB over both) and the "
        "same Redis; ours is timed from the publishing commit to the event marked done, the peer from enqueueing its "
        "walker task to the last inbox row (one `get_or_create` per task). `notify.send` (django-notifications-"
        f"community, the maintained fork of django-notifications-hq, whose last release does not run on Django 5.2) "
        f"runs in a subprocess with only auth, contenttypes and its own app installed, on its own PostgreSQL "
        f"database, to a queryset of as many users (peak RSS up to {notify_peak:.0f} MB). "
        "A peer not run at a size was left out for time (`--peer-sizes`, `--per-task-sizes`): one write per "
        "recipient runs for minutes per run at 100,000 on this machine."
    )
    print(body)
    if not args.no_write:
        write_section("fanout-peers", body, command=COMMAND, figures=figures)


if __name__ == "__main__":
    main()
