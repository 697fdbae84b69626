"""API benchmark at fixed request rates, web under gunicorn on PostgreSQL.

1. inbox list (`GET /api/v1/inbox/`, 50 items a page) at INBOX_RATE req/s;
2. the send API (`POST /api/v1/notifications/`, 3 recipients, in_app + email) at
   SEND_RATE req/s: accepted/s and p99;
3. the inbox list again while a fan-out to FANOUT_RECIPIENTS subscribers runs on a real
   worker (once: it is the heavy one).

Each of 1 and 2 is run RUNS times; the report gives the median and every run. Load is
made by locust (headless, FastHttpUser, constant throughput per user).

    DATABASE_URL=postgres://…/bench REDIS_URL=redis://127.0.0.1:6379/12 python bench/api.py
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
os.environ.setdefault("DEBUG", "false")
# The benchmark measures the request path, not the throttle's refusal of it.
os.environ.setdefault("API_KEY_THROTTLE_RATE", "10000000/min")
os.environ.setdefault("PERSON_THROTTLE_RATE", "10000000/min")
os.environ.setdefault("CONN_MAX_AGE", "600")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from apps.common.services import api_key_create  # noqa: E402
from apps.events.models import Event, FanoutState  # noqa: E402
from apps.events.services import event_publish, event_type_ensure  # noqa: E402
from apps.notifications.fanout import event_fan_out  # noqa: E402
from apps.notifications.models import DirectSend  # noqa: E402
from bench.report import median, peak_rss_mb, write_section  # noqa: E402

PY = sys.executable
PORT = int(os.environ.get("BENCH_PORT", "8765"))
HOST = f"http://127.0.0.1:{PORT}"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
INBOX_RATE = int(os.environ.get("INBOX_RATE", "200"))
SEND_RATE = int(os.environ.get("SEND_RATE", "500"))
FANOUT_RECIPIENTS = int(os.environ.get("FANOUT_RECIPIENTS", "1000000"))
WEB_WORKERS = int(os.environ.get("WEB_WORKERS", "4"))
# Threads overlap each request's waits on PostgreSQL (commits) and Redis.
WEB_THREADS = int(os.environ.get("WEB_THREADS", "4"))
BULK_ITEMS = int(os.environ.get("BENCH_BULK_ITEMS", "10"))
READERS = 200
ITEMS_PER_READER = 60


def sql(statement, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.rowcount


def seed_people(prefix: str, count: int) -> None:
    """`count` users named prefix1..N, set-based (the ORM would take minutes for a million)."""
    sql(
        """
        INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                               is_staff, is_active, date_joined)
        SELECT '!', false, %s || g, '', '', %s || g || '@example.com', false, true, now()
        FROM generate_series(1, %s) g
        ON CONFLICT (username) DO NOTHING
        """,
        [prefix, prefix, count],
    )


def subscribe_all(prefix: str, event_type) -> None:
    sql(
        """
        INSERT INTO subscriptions_subscription (user_id, event_type_id, channel, subject_type, subject_id,
                                                enabled, created_at, updated_at)
        SELECT id, %s, 'in_app', '', '', true, now(), now() FROM auth_user WHERE username LIKE %s
        ON CONFLICT DO NOTHING
        """,
        [event_type.pk, prefix + "%"],
    )


def fixture() -> dict:
    call_command("migrate", verbosity=0)
    reading = event_type_ensure(key="bench.reading", name="Bench reading")
    sending = event_type_ensure(key="bench.sending", name="Bench sending")
    seed_people("reader", READERS)
    subscribe_all("reader", reading)
    have = Event.objects.filter(event_type=reading).count()
    for n in range(have, ITEMS_PER_READER):
        event, _ = event_publish(event_type=reading, data={"n": n}, idempotency_key=f"bench-reading-{n}")
        event_fan_out(event_id=event.pk)
    from django.contrib.auth import get_user_model

    readers = get_user_model().objects.filter(username__startswith="reader")
    tokens = [Token.objects.get_or_create(user=user)[0].key for user in readers]
    _, api_key = api_key_create(name=f"bench {time.time()}", scopes=["notifications:write", "read"])
    return {
        "tokens": tokens,
        "api_key": api_key,
        "event_type": sending.key,
        "recipients": list(readers.values_list("pk", flat=True)),
    }


def start_web() -> subprocess.Popen:
    web = subprocess.Popen(
        [
            PY,
            "-m",
            "gunicorn",
            "notifications_project.wsgi:application",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(WEB_WORKERS),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            import urllib.request

            urllib.request.urlopen(f"{HOST}/api/schema/", timeout=2)  # noqa: S310
            return web
        except OSError:
            time.sleep(0.3)
    web.kill()
    raise RuntimeError("gunicorn did not answer")


def locust(user_class: str, rate: int, seconds: int, fixture_path: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"{tmp}/run"
        subprocess.run(
            [
                PY,
                "-m",
                "locust",
                "-f",
                str(ROOT / "bench" / "locust_api.py"),
                user_class,
                "--headless",
                "-u",
                str(rate),
                "-r",
                str(rate),
                "-t",
                f"{seconds}s",
                "--host",
                HOST,
                "--csv",
                prefix,
                "--reset-stats",
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={**os.environ, "BENCH_FIXTURE": fixture_path},
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with open(f"{prefix}_stats.csv") as handle:
            row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    count, failures = int(row["Request Count"]), int(row["Failure Count"])
    result = {
        "rate": _number(row["Requests/s"]),
        "ok_rate": _number(row["Requests/s"]) - _number(row["Failures/s"]),
        "p50": _number(row["50%"]),
        "p99": _number(row["99%"]),
        "count": count,
        "failures": failures,
    }
    print(user_class, rate, result, flush=True)  # noqa: T201
    return result


def _number(text: str) -> float:
    return float("nan") if text == "N/A" else float(text)


def serial(fixture_data: dict, count: int = 200) -> dict:
    """One request at a time: the per-request latency on this machine now, which bounds
    the rate the web can sustain (workers × threads cannot beat the cores)."""
    import random
    import statistics

    import requests

    session = requests.Session()
    inbox_headers = {"Authorization": f"Token {fixture_data['tokens'][0]}"}
    send_headers = {"Authorization": f"Bearer {fixture_data['api_key']}"}
    timings = {"inbox": [], "send": []}
    for _ in range(count):
        started = time.perf_counter()
        session.get(f"{HOST}/api/v1/inbox/", headers=inbox_headers, timeout=30).raise_for_status()
        timings["inbox"].append((time.perf_counter() - started) * 1000)
        body = {
            "event_type": fixture_data["event_type"],
            "recipients": random.sample(fixture_data["recipients"], 3),
            "channels": ["in_app", "email"],
        }
        started = time.perf_counter()
        session.post(f"{HOST}/api/v1/notifications/", json=body, headers=send_headers, timeout=30).raise_for_status()
        timings["send"].append((time.perf_counter() - started) * 1000)
    return {
        name: {"p50": statistics.median(values), "p99": statistics.quantiles(values, n=100)[98]}
        for name, values in timings.items()
    }


def web_rss(web) -> float:
    children = subprocess.run(["pgrep", "-P", str(web.pid)], capture_output=True, text=True).stdout.split()
    return max(peak_rss_mb(int(pid)) for pid in children) if children else float("nan")


def fanout_under_load(fixture_path: str) -> tuple[dict, float, int]:
    """Inbox load while a real worker fans an event out to FANOUT_RECIPIENTS people."""
    crowd = event_type_ensure(key="bench.crowd", name="Bench crowd")
    seed_people("crowd", FANOUT_RECIPIENTS)
    subscribe_all("crowd", crowd)
    sql("ANALYZE")
    worker = subprocess.Popen(
        [
            PY,
            "-m",
            "celery",
            "-A",
            "notifications_project",
            "worker",
            "-Q",
            "fanout",
            "-c",
            "1",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "WARNING",
            "-n",
            f"bench-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    try:
        time.sleep(5)
        event, _ = event_publish(event_type=crowd, data={}, idempotency_key=f"bench-crowd-{time.time()}")
        started = time.monotonic()
        seconds = max(SECONDS, 30)
        result = locust("InboxReader", INBOX_RATE, seconds, fixture_path)
        while Event.objects.get(pk=event.pk).fanout_state != FanoutState.DONE:
            time.sleep(0.5)
        took = time.monotonic() - started
        return result, took, Event.objects.get(pk=event.pk).recipient_count
    finally:
        worker.terminate()
        worker.wait(30)


LOAD_AT_START = ""


def main():
    global LOAD_AT_START
    LOAD_AT_START = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    data = fixture()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(data, handle)
        fixture_path = handle.name
    web = start_web()
    try:
        locust("InboxReader", 50, 5, fixture_path)  # warm-up: connections, caches
        alone = serial(data)
        print("serial", alone, flush=True)  # noqa: T201
        inbox = [locust("InboxReader", INBOX_RATE, SECONDS, fixture_path) for _ in range(RUNS)]
        sends = []
        for _ in range(RUNS):
            before = DirectSend.objects.count()
            result = locust("Sender", SEND_RATE, SECONDS, fixture_path)
            result["created"] = DirectSend.objects.count() - before
            sends.append(result)
        bulk = []
        for _ in range(RUNS):
            before = DirectSend.objects.count()
            result = locust("BulkSender", max(1, SEND_RATE // BULK_ITEMS), SECONDS, fixture_path)
            result["created"] = DirectSend.objects.count() - before
            result["accepted_sends"] = result["ok_rate"] * BULK_ITEMS
            bulk.append(result)
        # The sends' fan-outs queued with no worker: drop them, the heavy run wants its queue.
        from notifications_project.celery import app

        app.control.purge()
        heavy = None
        if FANOUT_RECIPIENTS:
            heavy = fanout_under_load(fixture_path)
        rss = web_rss(web)
    finally:
        web.terminate()
        web.wait(30)
    report(inbox, sends, bulk, heavy, rss, alone)


def _runs(results, key):
    return ", ".join(f"{r[key]:.0f}" for r in results)


def report(inbox, sends, bulk, heavy, rss, alone):
    lines = [
        f"Web: gunicorn, {WEB_WORKERS} workers × {WEB_THREADS} threads (gthread), PostgreSQL, Redis; "
        "load: locust (headless, on the same "
        f"2-core machine, shared with other work: figures are noisy, medians of {RUNS} runs of {SECONDS} s).",
        "",
        "| scenario | target | achieved (median) | p50 ms (median) | p99 ms (median) | p99 of each run | goal |",
        "|---|---|---|---|---|---|---|",
        f"| inbox list, 50 items/page | {INBOX_RATE} req/s | {median([r['rate'] for r in inbox]):.0f} req/s | "
        f"{median([r['p50'] for r in inbox]):.0f} | {median([r['p99'] for r in inbox]):.0f} | {_runs(inbox, 'p99')} "
        "| p99 ≤ 25 ms |",
        f"| send API (3 recipients) | {SEND_RATE} req/s | {median([r['ok_rate'] for r in sends]):.0f} accepted/s | "
        f"{median([r['p50'] for r in sends]):.0f} | {median([r['p99'] for r in sends]):.0f} | {_runs(sends, 'p99')} "
        "| ≥ 500 accepted/s, p99 ≤ 50 ms |",
        f"| bulk send API ({BULK_ITEMS} sends of 3 recipients a request) | {SEND_RATE // BULK_ITEMS} req/s = "
        f"{SEND_RATE} sends/s | {median([r['accepted_sends'] for r in bulk]):.0f} accepted sends/s | "
        f"{median([r['p50'] for r in bulk]):.0f} | {median([r['p99'] for r in bulk]):.0f} | {_runs(bulk, 'p99')} "
        "| ≥ 500 accepted/s, p99 ≤ 50 ms |",
    ]
    if heavy:
        result, took, recipients = heavy
        lines.append(
            f"| inbox list during a {recipients:,}-recipient fan-out (once; fan-out took {took:.0f} s) | "
            f"{INBOX_RATE} req/s | {result['rate']:.0f} req/s | {result['p50']:.0f} | {result['p99']:.0f} | "
            f"{result['p99']:.0f} | (measured) |"
        )
    lines += [
        "",
        "One request at a time (no concurrency), same machine, same moment: "
        f"inbox p50 {alone['inbox']['p50']:.1f} ms, p99 {alone['inbox']['p99']:.1f} ms; "
        f"send p50 {alone['send']['p50']:.1f} ms, p99 {alone['send']['p99']:.1f} ms. "
        "Locust users are closed-loop (one request a second each, waiting for the answer), so when "
        "the web saturates the achieved rate falls below the target and the latencies show the queue.",
    ]
    failures = sum(r["failures"] for r in inbox + sends + bulk)
    lines += [
        "",
        f"Failed requests across the runs: {failures}. Sends created in the database per run: "
        f"{_runs(sends, 'created')} (single), {_runs(bulk, 'created')} (bulk). Peak RSS of a web worker: "
        f"{rss:.0f} MB. Load average of the machine when the runs started: {LOAD_AT_START}.",
    ]
    body = "\n".join(lines)
    print(body)  # noqa: T201
    write_section("api", body, "python bench/api.py")


if __name__ == "__main__":
    main()
