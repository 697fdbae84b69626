"""API benchmark at fixed request rates, web under gunicorn on PostgreSQL.

1. inbox list (`GET /api/v1/inbox/`, 50 items a page) at INBOX_RATE req/s;
2. the send API (`POST /api/v1/notifications/`, 3 recipients, in_app + email) at
   SEND_RATE req/s, and the same sends BULK_ITEMS to a request (`/bulk/`);
3. the inbox list again while a fan-out to FANOUT_RECIPIENTS subscribers runs on a real
   worker (once: it is the heavy one).

Each of 1 and 2 is run RUNS times; the report gives the median and every run. Load is
made by wrk (Debian's package) with bench/wrk/paced.lua: Poisson arrivals at the fixed
rate, latency measured per request. Each run also reads the CPU time the web processes,
PostgreSQL and Redis spent, per request: the figure that says what the machine can carry,
however busy its neighbours are.

    DATABASE_URL=postgres://…/bench REDIS_URL=redis://127.0.0.1:6379/12 python bench/api.py
"""

import json
import math
import os
import re
import shutil
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
# Production settings, served over plain HTTP on the loopback: a key of the run's own,
# and no redirect to HTTPS.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleSE=")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
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
from apps.events.event_types import event_type_ensure  # noqa: E402
from apps.events.models import Event, FanoutState  # noqa: E402
from apps.notifications.fanout import event_fan_out  # noqa: E402
from apps.notifications.models import DirectSend  # noqa: E402
from apps.notifications.publish import event_publish  # noqa: E402
from bench.report import median, peak_rss_mb, write_section  # noqa: E402
from bench.servers import server_start  # noqa: E402

PY = sys.executable
PORT = int(os.environ.get("BENCH_PORT", "8765"))
HOST = f"http://127.0.0.1:{PORT}"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
WARMUP_SECONDS = 3
INBOX_RATE = int(os.environ.get("INBOX_RATE", "200"))
SEND_RATE = int(os.environ.get("SEND_RATE", "500"))
FANOUT_RECIPIENTS = int(os.environ.get("FANOUT_RECIPIENTS", "1000000"))
# API requests are CPU-bound Python: one thread per process (more threads only queue on
# the GIL), and a process more than the cores so one waiting on PostgreSQL leaves none idle.
WEB_WORKERS = int(os.environ.get("WEB_WORKERS", str((os.cpu_count() or 2) + 1)))
WEB_THREADS = int(os.environ.get("WEB_THREADS", "1"))
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


def lua_fixture(data: dict, path: Path) -> None:
    """The fixture as a Lua table for the wrk scenarios (they read it with dofile)."""

    def strings(values):
        return ",".join(json.dumps(value) for value in values)

    path.write_text(
        f"return {{tokens={{{strings(data['tokens'])}}}, api_key={json.dumps(data['api_key'])}, "
        f"event_type={json.dumps(data['event_type'])}, recipients={{{','.join(map(str, data['recipients']))}}}}}\n"
    )


def start_web() -> subprocess.Popen:
    # gunicorn.conf.py as deployed (JSON access log included), with the API pool's sizes.
    return server_start(
        [
            PY,
            "-m",
            "gunicorn",
            "notifications_project.wsgi:application",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(WEB_WORKERS),
            "--threads",
            str(WEB_THREADS),
            "--worker-class",
            "gthread",
            "--keep-alive",
            "30",
        ],
        answer_url=f"{HOST}/api/schema/",
        name="gunicorn",
    )


# Processes whose CPU time a run is charged with, by command line.
CPU_OF = {
    "web": re.compile(r"gunicorn notifications_project"),
    "postgres": re.compile(r"^postgres: "),
    "redis": re.compile(r"^redis-server"),
    "wrk": re.compile(r"^wrk "),
}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) each group of processes has used so far."""
    used = dict.fromkeys(CPU_OF, 0.0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        for name, pattern in CPU_OF.items():
            if pattern.search(command):
                used[name] += (int(fields[11]) + int(fields[12])) / TICKS
    return used


def connections_for(rate: int, p99_goal_ms: float) -> int:
    """Enough connections to carry three times the requests in flight at the goal
    (Little's law), so the offered rate holds even when answers are slow."""
    return max(16, math.ceil(3 * rate * p99_goal_ms / 1000))


def wrk(
    scenario: str, rate: int, seconds: int, p99_goal_ms: float, extra_env: dict | None = None, host: str = HOST
) -> dict:
    """Offer `rate` req/s for `seconds` (after a warm-up) to `host` and return the
    latencies, the achieved rate and the CPU per request of web, PostgreSQL and Redis."""
    before = cpu_seconds()
    finished = subprocess.run(
        [
            shutil.which("wrk") or "wrk",
            "-t1",
            f"-c{connections_for(rate, p99_goal_ms)}",
            f"-d{seconds + WARMUP_SECONDS}s",
            "--timeout",
            "10s",
            "-s",
            str(ROOT / "bench" / "wrk" / f"{scenario}.lua"),
            host,
            "--",
            str(rate),
            str(WARMUP_SECONDS),
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "BENCH_WRK_DIR": str(ROOT / "bench" / "wrk"),
            # A new connection per request: each is taken by whichever web process is
            # free, as behind a balancing proxy. Kept-alive connections would pin a share
            # of the load to one process for the whole run and measure that pinning.
            "BENCH_RECONNECT_EVERY": "1",
            **(extra_env or {}),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    used = cpu_seconds()
    line = next((x for x in finished.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {finished.stdout[-2000:]} {finished.stderr[-2000:]}")
    result = json.loads(line.removeprefix("BENCH_RESULT "))
    measured = max(result["elapsed_s"] - WARMUP_SECONDS, 1e-9)
    ok = sum(count for status, count in result["statuses"].items() if status.startswith("2"))
    # All requests of the run (warm-up included) used the CPU: charge it to all of them.
    total_requests = max(1, sum(result["statuses"].values()) * result["elapsed_s"] / measured)
    result.update(
        rate=result["count"] / measured,
        ok_rate=ok / measured,
        failures=result["count"] - ok + result["socket_errors"] + result["timeouts"],
        cpu_ms={name: (used[name] - before[name]) * 1000 / total_requests for name in CPU_OF},
    )
    print(scenario, rate, json.dumps(result), flush=True)  # noqa: T201
    return result


def serial(fixture_data: dict, count: int = 200) -> dict:
    """One request at a time: the per-request latency on this machine now."""
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


def fanout_under_load() -> tuple[dict, float, int]:
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
        result = wrk("inbox", INBOX_RATE, max(SECONDS, 20), INBOX_P99_MS)
        while Event.objects.get(pk=event.pk).fanout_state != FanoutState.DONE:
            time.sleep(0.5)
        took = time.monotonic() - started
        return result, took, Event.objects.get(pk=event.pk).recipient_count
    finally:
        worker.terminate()
        worker.wait(30)


INBOX_P99_MS = 25
SEND_P99_MS = 50
LOAD_AT_START = ""


def main():
    global LOAD_AT_START
    if not shutil.which("wrk"):
        sys.exit("bench/api.py needs wrk: apt-get install wrk")
    LOAD_AT_START = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    data = fixture()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BENCH_FIXTURE_LUA"] = f"{tmp}/fixture.lua"
        lua_fixture(data, Path(os.environ["BENCH_FIXTURE_LUA"]))
        web = start_web()
        try:
            wrk("inbox", 50, 3, INBOX_P99_MS)  # warm-up: connections, caches
            alone = serial(data)
            print("serial", alone, flush=True)  # noqa: T201
            inbox = [wrk("inbox", INBOX_RATE, SECONDS, INBOX_P99_MS) for _ in range(RUNS)]
            sends, bulk = [], []
            for _ in range(RUNS):
                before = DirectSend.objects.count()
                result = wrk("send", SEND_RATE, SECONDS, SEND_P99_MS)
                result["created"] = DirectSend.objects.count() - before
                sends.append(result)
            bulk_rate = max(1, SEND_RATE // BULK_ITEMS)
            for _ in range(RUNS):
                before = DirectSend.objects.count()
                result = wrk("send", bulk_rate, SECONDS, SEND_P99_MS, {"BENCH_BULK_ITEMS": str(BULK_ITEMS)})
                result["created"] = DirectSend.objects.count() - before
                result["accepted_sends"] = result["ok_rate"] * BULK_ITEMS
                bulk.append(result)
            # The sends' fan-outs queued with no worker: drop them, the heavy run wants its queue.
            from notifications_project.celery import app

            app.control.purge()
            heavy = fanout_under_load() if FANOUT_RECIPIENTS else None
            rss = web_rss(web)
        finally:
            web.terminate()
            web.wait(30)
    report(inbox, sends, bulk, heavy, rss, alone)


def _runs(results, key):
    return ", ".join(f"{r[key]:.0f}" for r in results)


def _cpu(results) -> str:
    """Median CPU ms per request: web + PostgreSQL + Redis."""
    parts = {name: median([r["cpu_ms"][name] for r in results]) for name in ("web", "postgres", "redis")}
    return f"{sum(parts.values()):.1f} ({parts['web']:.1f} + {parts['postgres']:.1f} + {parts['redis']:.2f})"


def _capacity(results) -> float:
    """Requests a second the machine's cores could carry at that CPU per request."""
    per_request = median([sum(r["cpu_ms"][n] for n in ("web", "postgres", "redis")) for r in results])
    return (os.cpu_count() or 2) * 1000 / per_request


def report(inbox, sends, bulk, heavy, rss, alone):
    bulk_rate = max(1, SEND_RATE // BULK_ITEMS)
    lines = [
        f"Web: gunicorn (gthread), {WEB_WORKERS} processes × {WEB_THREADS} thread, gunicorn.conf.py as deployed "
        "(JSON access log), PostgreSQL, Redis. Load: wrk with bench/wrk/paced.lua on the same 2 cores: Poisson "
        f"arrivals at the offered rate, a new connection per request, {WARMUP_SECONDS} s of warm-up left out; "
        f"medians of {RUNS} runs of {SECONDS} s.",
        "",
        "| scenario | offered | achieved (median) | p50 ms | p99 ms (median) | p99 of each run | goal | "
        "CPU ms/request: web + PostgreSQL + Redis | what 2 cores carry at that cost |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| inbox list, 50 items/page | {INBOX_RATE} req/s | {median([r['rate'] for r in inbox]):.0f} req/s | "
        f"{median([r['p50'] for r in inbox]):.1f} | {median([r['p99'] for r in inbox]):.1f} | {_runs(inbox, 'p99')} "
        f"| p99 ≤ {INBOX_P99_MS} ms | {_cpu(inbox)} | {_capacity(inbox):.0f} req/s |",
        f"| send API, one send (3 recipients) a request | {SEND_RATE} req/s | "
        f"{median([r['ok_rate'] for r in sends]):.0f} accepted/s | {median([r['p50'] for r in sends]):.1f} | "
        f"{median([r['p99'] for r in sends]):.1f} | {_runs(sends, 'p99')} | ≥ {SEND_RATE} accepted/s, "
        f"p99 ≤ {SEND_P99_MS} ms | {_cpu(sends)} | {_capacity(sends):.0f} sends/s |",
        f"| send API, bulk: {BULK_ITEMS} sends (3 recipients each) a request | {bulk_rate} req/s = {SEND_RATE} sends/s "
        f"| {median([r['accepted_sends'] for r in bulk]):.0f} accepted sends/s | "
        f"{median([r['p50'] for r in bulk]):.1f} "
        f"| {median([r['p99'] for r in bulk]):.1f} | {_runs(bulk, 'p99')} | ≥ {SEND_RATE} accepted/s, "
        f"p99 ≤ {SEND_P99_MS} ms | {_cpu(bulk)} | {_capacity(bulk) * BULK_ITEMS:.0f} sends/s |",
    ]
    if heavy:
        result, took, recipients = heavy
        lines.append(
            f"| inbox list during a {recipients:,}-recipient fan-out (once; fan-out took {took:.0f} s) | "
            f"{INBOX_RATE} req/s | {result['rate']:.0f} req/s | {result['p50']:.1f} | {result['p99']:.1f} | "
            f"{result['p99']:.0f} | (measured) | {_cpu([result])} (the worker's share not counted) | |"
        )
    failures = sum(r["failures"] for r in inbox + sends + bulk)
    lines += [
        "",
        "One request at a time (no concurrency), same machine, same moment: "
        f"inbox p50 {alone['inbox']['p50']:.1f} ms, p99 {alone['inbox']['p99']:.1f} ms; "
        f"send p50 {alone['send']['p50']:.1f} ms, p99 {alone['send']['p99']:.1f} ms.",
        "",
        f"Failed requests across the runs: {failures}. Sends created in the database per run (warm-up included): "
        f"{_runs(sends, 'created')} (single), {_runs(bulk, 'created')} (bulk). Peak RSS of a web process: "
        f"{rss:.0f} MB. Load average of the machine when the runs started: {LOAD_AT_START}.",
    ]
    body = "\n".join(lines)
    print(body)  # noqa: T201
    figures = [
        (f"inbox list at {INBOX_RATE} req/s: p99", f"{median([r['p99'] for r in inbox]):.1f} ms"),
        (f"single sends offered at {SEND_RATE}/s: accepted", f"{median([r['ok_rate'] for r in sends]):.0f}/s"),
        (f"single sends at {SEND_RATE}/s: p99", f"{median([r['p99'] for r in sends]):.0f} ms"),
        (
            f"bulk sends at {SEND_RATE} sends/s: accepted",
            f"{median([r['accepted_sends'] for r in bulk]):.0f}/s, p99 {median([r['p99'] for r in bulk]):.0f} ms",
        ),
    ]
    write_section("api", body, "python bench/api.py", figures)


if __name__ == "__main__":
    main()
