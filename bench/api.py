"""API benchmark at fixed request rates, web under gunicorn on PostgreSQL, measured
against the framework's floor.

1. inbox list (`GET /api/v1/inbox/`, 50 items a page) at INBOX_RATE req/s, and the
   floor: a bare DRF view with the same auth and permission (bench/floor_urls.py);
2. the send API (`POST /api/v1/notifications/`, 3 recipients, in_app + email) at
   SEND_RATE req/s and its floor, and the same sends BULK_ITEMS to a request (`/bulk/`)
   at BULK_RATE req/s;
3. overload: single sends offered at twice what the cores carry at the measured CPU
   per send, to a web without load shedding and to one with it (as deployed);
4. the inbox list again while a fan-out to FANOUT_RECIPIENTS subscribers runs on a real
   worker (once: it is the heavy one; FANOUT_RECIPIENTS=0 leaves it out).

Each of 1 to 3 is run RUNS times, interleaved, so the floor and the endpoint see the same
machine; the report gives medians and every run. Load is made by wrk (Debian's package)
with bench/wrk/paced.lua: Poisson arrivals at the fixed rate, latency measured per
request. Each run reads the CPU time the web processes, PostgreSQL and Redis spent, per
request: the figure that says what the machine can carry, however busy its neighbours
are. Targets: inbox ≤ 2× its floor, a single send ≤ 3× its floor, a bulk send ≤ 1 ms of
CPU per send.

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

from bench.production_env import production_like  # noqa: E402

# The service's settings with the floor views mounted (bench/floor_settings.py).
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.floor_settings"
production_like()

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
# A second web, load shedding off, for the overload case's "before".
UNSHED_PORT = PORT + 1
UNSHED_HOST = f"http://127.0.0.1:{UNSHED_PORT}"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
WARMUP_SECONDS = 3
# Rates the 2 shared cores carry with room to spare: the CPU per request is the cost of
# serving, not of queueing behind the machine's other work.
INBOX_RATE = int(os.environ.get("INBOX_RATE", "100"))
# The overload case offers twice the capacity on purpose.
SEND_RATE = int(os.environ.get("SEND_RATE", "60"))
BULK_RATE = int(os.environ.get("BULK_RATE", "10"))
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


def start_web(port: int = PORT, env: dict | None = None) -> subprocess.Popen:
    # gunicorn.conf.py as deployed (its worker class, JSON access log), with the API
    # pool's sizes; `env` on top of this process's environment.
    return server_start(
        [
            PY,
            "-m",
            "gunicorn",
            "notifications_project.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WEB_WORKERS),
            "--threads",
            str(WEB_THREADS),
            "--keep-alive",
            "30",
        ],
        answer_url=f"http://127.0.0.1:{port}/api/schema/",
        name="gunicorn",
        env=env,
    )


# Processes whose CPU time a run is charged with, by command line: the bench's own webs,
# the PostgreSQL backends of its database, Redis (one server for the whole machine: its
# share is an upper bound when others use it too).
DATABASE_NAME = connection.settings_dict["NAME"]
CPU_OF = {
    "web": re.compile(rf"gunicorn notifications_project\.wsgi:application --bind 127\.0\.0\.1:({PORT}|{UNSHED_PORT}) "),
    # "postgres: [cluster: ]user database client state"
    "postgres": re.compile(rf"^postgres: (\S+: )?\S+ {re.escape(DATABASE_NAME)} "),
    "redis": re.compile(r"^redis-server"),
    "wrk": re.compile(r"^(\S*/)?wrk "),
}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> dict[str, dict[int, float]]:
    """CPU seconds (user + system) each process of each group has used so far."""
    used = {name: {} for name in CPU_OF}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        for name, pattern in CPU_OF.items():
            if pattern.search(command):
                used[name][int(pid)] = (int(fields[11]) + int(fields[12])) / TICKS
    return used


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds of each group between two readings: per process, so one that ended
    meanwhile (a PostgreSQL backend of a closed connection) takes nothing away."""
    return {name: sum(seconds - before[name].get(pid, 0.0) for pid, seconds in after[name].items()) for name in CPU_OF}


def stop_web(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:  # an overloaded web drains slowly
            process.kill()
            process.wait(10)


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
    used = cpu_used(before, cpu_seconds())
    line = next((x for x in finished.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {finished.stdout[-2000:]} {finished.stderr[-2000:]}")
    result = json.loads(line.removeprefix("BENCH_RESULT "))
    measured = max(result["elapsed_s"] - WARMUP_SECONDS, 1e-9)
    ok = sum(count for status, count in result["statuses"].items() if status.startswith("2"))
    shed = result["statuses"].get("503", 0)
    # All requests of the run (warm-up included) used the CPU: charge it to all of them.
    total_requests = max(1, sum(result["statuses"].values()) * result["elapsed_s"] / measured)
    result.update(
        rate=result["count"] / measured,
        ok_rate=ok / measured,
        shed_share=shed / max(1, result["count"]),
        failures=result["count"] - ok - shed + result["socket_errors"] + result["timeouts"],
        cpu_ms={name: used[name] * 1000 / total_requests for name in CPU_OF},
    )
    print(scenario, rate, (extra_env or {}).get("BENCH_PATH", ""), host, json.dumps(result), flush=True)  # noqa: T201
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
# Connections for the overload runs: enough to keep offering the rate while answers take a
# quarter of a second (more, and wrk itself takes the cores' time).
OVERLOAD_P99_MS = 250
LOAD_AT_START = ""
FLOOR_INBOX = {"BENCH_PATH": "/bench/floor/inbox/"}
FLOOR_SEND = {"BENCH_PATH": "/bench/floor/send/"}
BULK = {"BENCH_BULK_ITEMS": str(BULK_ITEMS)}
# Targets: CPU per request against the floor's, and per send of a bulk request.
INBOX_FLOOR_RATIO_MAX = 2
SEND_FLOOR_RATIO_MAX = 3
BULK_CPU_MS_PER_SEND_MAX = 1.0


def cpu_ms(result) -> float:
    return sum(result["cpu_ms"][name] for name in ("web", "postgres", "redis"))


def sends_run(rate: int, host: str = HOST, extra_env: dict | None = None, p99_goal_ms: float = SEND_P99_MS) -> dict:
    before = DirectSend.objects.count()
    result = wrk("send", rate, SECONDS, p99_goal_ms, extra_env, host=host)
    result["created"] = DirectSend.objects.count() - before
    return result


def main():
    global LOAD_AT_START
    if not shutil.which("wrk"):
        sys.exit("bench/api.py needs wrk: apt-get install wrk")
    LOAD_AT_START = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    data = fixture()
    runs = {name: [] for name in ("floor_inbox", "inbox", "floor_send", "send", "bulk", "unshed", "shed")}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BENCH_FIXTURE_LUA"] = f"{tmp}/fixture.lua"
        lua_fixture(data, Path(os.environ["BENCH_FIXTURE_LUA"]))
        web = start_web()
        unshed = start_web(UNSHED_PORT, {"LOAD_SHED_QUEUE_BUDGET_MS": "0", "LOAD_SHED_MAX_IN_FLIGHT": "0"})
        try:
            for host in (HOST, UNSHED_HOST):  # warm-up: connections, caches
                wrk("inbox", 50, 3, INBOX_P99_MS, host=host)
                wrk("send", 50, 3, SEND_P99_MS, host=host)
            alone = serial(data)
            print("serial", alone, flush=True)  # noqa: T201
            # The costs on the web without load shedding: every request is served and charged,
            # however busy the machine's neighbours make it.
            for _ in range(RUNS):
                runs["floor_inbox"].append(wrk("inbox", INBOX_RATE, SECONDS, INBOX_P99_MS, FLOOR_INBOX, UNSHED_HOST))
                runs["inbox"].append(wrk("inbox", INBOX_RATE, SECONDS, INBOX_P99_MS, host=UNSHED_HOST))
                runs["floor_send"].append(wrk("send", SEND_RATE, SECONDS, SEND_P99_MS, FLOOR_SEND, UNSHED_HOST))
                runs["send"].append(sends_run(SEND_RATE, UNSHED_HOST))
                bulk = sends_run(BULK_RATE, UNSHED_HOST, BULK)
                bulk["accepted_sends"] = bulk["ok_rate"] * BULK_ITEMS
                runs["bulk"].append(bulk)
            # What the web carries now: its 202s a second when offered what the cores would
            # carry at the measured CPU per send (the machine's neighbours take their share).
            calibration = sends_run(round(_capacity(runs["send"])), UNSHED_HOST, p99_goal_ms=OVERLOAD_P99_MS)
            carried = calibration["ok_rate"]
            overload_rate = round(2 * carried)
            for _ in range(RUNS):
                runs["unshed"].append(sends_run(overload_rate, UNSHED_HOST, p99_goal_ms=OVERLOAD_P99_MS))
                runs["shed"].append(sends_run(overload_rate, p99_goal_ms=OVERLOAD_P99_MS))
            # The sends' fan-outs queued with no worker: drop them, the heavy run wants its queue.
            from notifications_project.celery import app

            app.control.purge()
            stop_web(unshed)
            heavy = fanout_under_load() if FANOUT_RECIPIENTS else None
            rss = web_rss(web)
        finally:
            for server in (web, unshed):
                stop_web(server)
    report(runs, carried, overload_rate, heavy, rss, alone)


def _runs(results, key, digits=0):
    return ", ".join(f"{r[key]:.{digits}f}" for r in results)


def _cpu(results) -> str:
    """Median CPU ms per request: web + PostgreSQL + Redis."""
    parts = {name: median([r["cpu_ms"][name] for r in results]) for name in ("web", "postgres", "redis")}
    return f"{sum(parts.values()):.2f} ({parts['web']:.2f} + {parts['postgres']:.2f} + {parts['redis']:.2f})"


def _capacity(results) -> float:
    """Requests a second the machine's cores could carry at that CPU per request."""
    return (os.cpu_count() or 2) * 1000 / median([cpu_ms(r) for r in results])


def _ratios(results, floors) -> list[float]:
    """Each run's CPU per request against the floor run beside it."""
    return [cpu_ms(r) / cpu_ms(f) for r, f in zip(results, floors, strict=True)]


def _ratio_cell(results, floors) -> str:
    ratios = _ratios(results, floors)
    return f"**{median(ratios):.2f}×** ({', '.join(f'{x:.2f}' for x in ratios)})"


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _row(name, rate, results, floor_cell, ratio_cell, target_cell):
    return (
        f"| {name} | {rate} req/s | {median([r['ok_rate'] for r in results]):.0f}/s | "
        f"{median([r['p50'] for r in results]):.1f} | {median([r['p99'] for r in results]):.1f} | "
        f"{_cpu(results)} | {floor_cell} | {ratio_cell} | {target_cell} |"
    )


def _against_floor(name, auth, rate, runs, key, ratio_max) -> list[str]:
    """The floor's row, then the endpoint's with its CPU against the floor's."""
    results, floors = runs[key], runs[f"floor_{key}"]
    ratio = median(_ratios(results, floors))
    return [
        _row(f"floor: bare view, {auth}", rate, floors, "", "", ""),
        _row(
            name,
            rate,
            results,
            _cpu(floors),
            _ratio_cell(results, floors),
            f"≤ {ratio_max}×: {_met(ratio <= ratio_max)}",
        ),
    ]


def _overload_row(name, rate, results):
    return (
        f"| {name} | {rate} req/s | {median([r['ok_rate'] for r in results]):.0f}/s | "
        f"{median([r['shed_share'] for r in results]) * 100:.0f} % | {median([r['p50'] for r in results]):.1f} | "
        f"{median([r['p99'] for r in results]):.0f} | {_runs(results, 'p99')} | "
        f"{median([r['ok_p99'] for r in results]):.0f} | {sum(r['failures'] for r in results)} |"
    )


def report(runs, carried, overload_rate, heavy, rss, alone):
    inbox_ratio = median(_ratios(runs["inbox"], runs["floor_inbox"]))
    send_ratio = median(_ratios(runs["send"], runs["floor_send"]))
    bulk_per_send = median([cpu_ms(r) for r in runs["bulk"]]) / BULK_ITEMS
    lines = [
        f"Web: gunicorn, {WEB_WORKERS} processes × {WEB_THREADS} thread, gunicorn.conf.py as deployed (its "
        "queue-timing gthread worker, JSON access log), PostgreSQL, Redis. Load: wrk with bench/wrk/paced.lua on "
        f"the same 2 cores: Poisson arrivals at the offered rate, a new connection per request, {WARMUP_SECONDS} s "
        f"of warm-up left out; {RUNS} runs of {SECONDS} s of each scenario, interleaved, medians. The floor: bare "
        "DRF views with the endpoint's authentication, permission and throttles, answering the same status with a "
        "tiny body, through the same middleware (bench/floor_urls.py, mounted by bench/floor_settings.py only). "
        "CPU = user + system time of the web processes, the PostgreSQL backends of the bench's database and "
        "redis-server (shared with the machine's other work: an upper bound) during the run (/proc/<pid>/stat), "
        "divided by the requests answered. These rows run on the web with load shedding off, so every request is "
        "served and charged.",
        "",
        "| scenario | offered | answered 2xx | p50 ms | p99 ms | CPU ms/request: web + PostgreSQL + Redis | "
        "floor CPU ms/request | CPU / floor (median of runs) | target |",
        "|---|---|---|---|---|---|---|---|---|",
        *_against_floor(
            "inbox list, 50 items/page",
            "inbox auth (Token, IsPerson)",
            INBOX_RATE,
            runs,
            "inbox",
            INBOX_FLOOR_RATIO_MAX,
        ),
        *_against_floor(
            "send API, one send (3 recipients) a request",
            "send auth (Bearer key, scope)",
            SEND_RATE,
            runs,
            "send",
            SEND_FLOOR_RATIO_MAX,
        ),
        _row(
            f"send API, bulk: {BULK_ITEMS} sends (3 recipients each) a request",
            BULK_RATE,
            runs["bulk"],
            "",
            f"**{bulk_per_send:.2f} ms per send**",
            f"≤ {BULK_CPU_MS_PER_SEND_MAX:g} ms/send: {_met(bulk_per_send <= BULK_CPU_MS_PER_SEND_MAX)}",
        ),
        "",
        f"Overload: single sends offered at {overload_rate} req/s, twice the {carried:.0f}/s the web without "
        f"shedding accepted when offered {_capacity(runs['send']):.0f}/s (what the 2 cores would carry at the "
        "send's CPU per request above, were they not shared), to a web with load shedding off "
        "(LOAD_SHED_QUEUE_BUDGET_MS=0) and to one as deployed "
        f"(LOAD_SHED_QUEUE_BUDGET_MS={os.environ.get('LOAD_SHED_QUEUE_BUDGET_MS', '100')}), interleaved; "
        f"wrk holds up to {connections_for(overload_rate, OVERLOAD_P99_MS)} connections, as a proxy's queue would.",
        "",
        "| load shedding | offered | accepted (202) | answered 503 + Retry-After | p50 ms (all) | p99 ms (all) | "
        "p99 of each run | p99 ms of the 202s | other failures |",
        "|---|---|---|---|---|---|---|---|---|",
        _overload_row("off (before)", overload_rate, runs["unshed"]),
        _overload_row("on (after)", overload_rate, runs["shed"]),
    ]
    if heavy:
        result, took, recipients = heavy
        lines += [
            "",
            f"Inbox list during a {recipients:,}-recipient fan-out (once; fan-out took {took:.0f} s), offered "
            f"{INBOX_RATE} req/s: {result['rate']:.0f} req/s, p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} "
            f"ms, CPU {_cpu([result])} ms/request (the worker's share not counted).",
        ]
    failures = sum(r["failures"] for name in ("inbox", "send", "bulk") for r in runs[name])
    lines += [
        "",
        "One request at a time (no concurrency), same machine, same moment: "
        f"inbox p50 {alone['inbox']['p50']:.1f} ms, p99 {alone['inbox']['p99']:.1f} ms; "
        f"send p50 {alone['send']['p50']:.1f} ms, p99 {alone['send']['p99']:.1f} ms.",
        "",
        f"Failed requests across the runs below capacity: {failures}. Sends created in the database per run "
        f"(warm-up included): {_runs(runs['send'], 'created')} (single), {_runs(runs['bulk'], 'created')} (bulk). "
        f"Peak RSS of a web process: {rss:.0f} MB. Load average of the machine when the runs started: "
        f"{LOAD_AT_START}.",
    ]
    body = "\n".join(lines)
    print(body)  # noqa: T201
    figures = [
        ("inbox list CPU / floor", f"{inbox_ratio:.2f}× (target ≤ {INBOX_FLOOR_RATIO_MAX}×)"),
        ("single send CPU / floor", f"{send_ratio:.2f}× (target ≤ {SEND_FLOOR_RATIO_MAX}×)"),
        ("bulk send CPU per send", f"{bulk_per_send:.2f} ms (target ≤ {BULK_CPU_MS_PER_SEND_MAX:g} ms)"),
        (
            f"sends at 2× capacity ({overload_rate}/s): p99 without / with load shedding",
            f"{median([r['p99'] for r in runs['unshed']]):.0f} / {median([r['p99'] for r in runs['shed']]):.0f} ms, "
            f"{median([r['shed_share'] for r in runs['shed']]) * 100:.0f} % shed",
        ),
    ]
    write_section("api", body, "python bench/api.py", figures)


if __name__ == "__main__":
    main()
