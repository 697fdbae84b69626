"""Email dispatch throughput: 10,000 deliveries through a real Celery worker into a local
SMTP sink, timed from publishing the event to the last delivery `sent`.

The sink is Postfix's smtp-sink (C, does not cap like aiosmtpd does); when it is not
installed the script fetches the postfix package into /tmp and runs it from there.
Modes, each measured in the same invocation so their ratios hold:
  - SMTP connections reused per batch, the batch spread over N parallel connections;
  - the same with each acceptance recorded before the next send (DELIVERY_ACCEPTANCE_WINDOW=1);
  - one connection per batch (no threads);
  - one SMTP connection per message (what connection reuse saves).
With `--tracking` it measures the default mode with and without email open and click
tracking instead (printed only; the figures are written up by hand).

With `--channel slack` or `--channel mobile_push` it measures those channels instead:
each delivery one request, through slack-sdk or firebase-admin, to the local server
the integration tests use (tests/integration/chat_providers.py: Slack's
chat.postMessage; FCM v1 with its OAuth token endpoint), with the worker's CPU per
message; their figures go in a section of their own.

Usage (DATABASE_URL and TEST_REDIS_URL as for the tests; the database is migrated and
the bench's rows are removed afterwards):
    python bench/dispatch.py [--deliveries 10000] [--runs 3]
    python bench/dispatch.py --channel slack --deliveries 2000 --runs 1
    python bench/dispatch.py --tracking --deliveries 2000
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings_test")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max, Min  # noqa: E402

from apps.accounts.models import Device, Profile  # noqa: E402
from apps.common.channels import Channel  # noqa: E402
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus, TrackedEmail  # noqa: E402
from apps.events.event_types import event_type_ensure  # noqa: E402
from apps.events.models import Event, EventType  # noqa: E402
from apps.notifications.models import UserNotification  # noqa: E402
from apps.notifications.publish import event_publish  # noqa: E402
from apps.subscriptions.models import Subscription  # noqa: E402
from bench.report import median, peak_rss_mb, write_section  # noqa: E402
from tests.integration.chat_providers import FcmApi, SlackApi  # noqa: E402
from tests.sinks import free_port  # noqa: E402
from tests.worker import Worker  # noqa: E402

POSTFIX_DIR = Path("/tmp/postfix-x")
EVENT_TYPE = "bench.dispatch"
WORKER_PROCESSES = 2
# Open and click tracking on; its links point at a host that is never asked.
TRACKED = {"EMAIL_TRACKING_ENABLED": "true", "PUBLIC_BASE_URL": "https://notify.example.com"}


def smtp_sink_binary() -> Path:
    found = shutil.which("smtp-sink")
    if found:
        return Path(found)
    binary = POSTFIX_DIR / "usr/sbin/smtp-sink"
    if not binary.exists():
        print("fetching postfix for smtp-sink into /tmp ...", flush=True)
        subprocess.run(["apt-get", "download", "postfix"], cwd="/tmp", check=True, capture_output=True)
        deb = sorted(glob.glob("/tmp/postfix_*.deb"))[-1]
        subprocess.run(["dpkg", "-x", deb, str(POSTFIX_DIR)], check=True)
    return binary


def start_sink(port: int) -> subprocess.Popen:
    binary = smtp_sink_binary()
    env = {**os.environ, "LD_LIBRARY_PATH": str(POSTFIX_DIR / "usr/lib/postfix")}
    command = [str(binary)]
    if os.geteuid() == 0:
        command += ["-u", "nobody"]
    process = subprocess.Popen(
        [*command, f"127.0.0.1:{port}", "1000"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(0.3)
    if process.poll() is not None:
        raise RuntimeError("smtp-sink did not start")
    return process


def ensure_audience(size: int, channel: str = Channel.EMAIL) -> EventType:
    """`size` people subscribed to the bench event type on `channel`, created in bulk,
    with a Slack id and an FCM device each (what the slack and mobile_push channels need)."""
    event_type = event_type_ensure(key=EVENT_TYPE, name="Benchmark dispatch")
    User = get_user_model()
    existing = User.objects.filter(username__startswith="bench-").count()
    if existing < size:
        User.objects.bulk_create(
            [
                User(username=f"bench-{i:06d}", email=f"bench-{i:06d}@bench.example", password="!")
                for i in range(existing, size)
            ],
            batch_size=5000,
            ignore_conflicts=True,
        )
    users = User.objects.filter(username__startswith="bench-").order_by("pk").values_list("pk", flat=True)[:size]
    Subscription.objects.bulk_create(
        [Subscription(user_id=pk, event_type=event_type, channel=channel) for pk in users],
        batch_size=5000,
        ignore_conflicts=True,
    )
    if channel == Channel.SLACK:
        Profile.objects.bulk_create(
            [Profile(user_id=pk, slack_id=f"U{pk:09d}") for pk in users],
            batch_size=5000,
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["slack_id"],
        )
    if channel == Channel.MOBILE_PUSH:
        Device.objects.bulk_create(
            [Device(user_id=pk, token=f"bench-fcm-token-{pk:09d}-" + "x" * 140) for pk in users],
            batch_size=5000,
            ignore_conflicts=True,
        )
    return event_type


def cleanup(event_type: EventType) -> None:
    Event.objects.filter(event_type=event_type).delete()  # cascades to inbox items and deliveries
    # Fresh statistics and no dead rows for the next run, as autovacuum would leave
    # them (it may be off or behind on a benchmark machine).
    tables = [model._meta.db_table for model in (Delivery, DeliveryEvent, UserNotification, Event)]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def worker_children(worker: Worker) -> list[int]:
    children = []
    for path in glob.glob(f"/proc/{worker.process.pid}/task/*/children"):
        children += [int(c) for c in Path(path).read_text().split()]
    return children


def worker_peak_rss(worker: Worker) -> float:
    """Largest VmHWM among the worker's pool processes (the ones that send)."""
    return max(peak_rss_mb(p) for p in worker_children(worker) or [worker.process.pid])


def worker_cpu_seconds(worker: Worker) -> float:
    """User + system CPU of the worker's main and pool processes so far: a figure that,
    unlike the wall-clock rate, does not depend on what else the machine is doing."""
    total = 0
    for pid in [worker.process.pid, *worker_children(worker)]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def one_run(event_type: EventType, size: int, label: str) -> float:
    """Seconds from publish to the last delivery sent."""
    started = time.time()
    with transaction.atomic():
        event, _ = event_publish(event_type=event_type, data={"name": label})
    deliveries = Delivery.objects.filter(notification__event=event)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if deliveries.exclude(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]).count() >= size:
            break
        time.sleep(0.25)
    else:
        raise RuntimeError(f"{label}: not finished in 900 s")
    not_sent = deliveries.exclude(status=DeliveryStatus.SENT).count()
    if not_sent:
        raise RuntimeError(f"{label}: {not_sent} deliveries not sent; see the worker log")
    span = deliveries.aggregate(first=Min("sent_at"), last=Max("sent_at"))
    return span["last"].timestamp() - started


def timed_runs(worker, event_type, size: int, runs: int, *, label: str, unit: str) -> tuple[list[float], float, float]:
    """`runs` timed runs of `size` deliveries on a started worker: the seconds of each,
    the worker's CPU milliseconds per delivery, and its peak RSS."""
    seconds = []
    cpu_start = worker_cpu_seconds(worker)
    for run in range(runs):
        elapsed = one_run(event_type, size, f"{label} #{run + 1}")
        tracked = TrackedEmail.objects.filter(delivery__notification__event__event_type=event_type).count()
        if tracked:
            print(f"  {label} run {run + 1}: {tracked} emails tracked", flush=True)
        cleanup(event_type)
        seconds.append(elapsed)
        print(f"  {label} run {run + 1}: {elapsed:.2f} s, {size / elapsed:,.0f} {unit}/s", flush=True)
    cpu_ms = (worker_cpu_seconds(worker) - cpu_start) * 1000 / (runs * size)
    return seconds, cpu_ms, worker_peak_rss(worker)


def measure(mode: str, env: dict, event_type, size: int, runs: int, sink_port: int) -> dict:
    worker_env = {
        "EMAIL_URL": f"smtp://127.0.0.1:{sink_port}",
        "EMAIL_PROVIDER": "smtp",
        "SENDGRID_API_KEY": "",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    worker = Worker("bench-dispatch", queues="fanout,email", concurrency=WORKER_PROCESSES, env=worker_env).start()
    try:
        seconds, cpu_ms, rss = timed_runs(worker, event_type, size, runs, label=mode, unit="emails")
    finally:
        worker.stop()
    return {"mode": mode, "seconds": seconds, "rate": size / median(seconds), "rss": rss, "cpu_ms": cpu_ms}


def measure_http_channel(channel: str, event_type, size: int, runs: int, tmp: Path) -> dict:
    """One channel's deliveries through its SDK to the local server speaking its API."""
    server = (SlackApi() if channel == Channel.SLACK else FcmApi()).start()
    if channel == Channel.SLACK:
        env = {"SLACK_BOT_TOKEN": SlackApi.TOKEN, "SLACK_API_BASE_URL": f"{server.url}/api/"}
    else:
        env = {"FCM_SERVICE_ACCOUNT_FILE": server.key_file(tmp / "fcm-key.json"), "FCM_API_BASE_URL": server.url}
    worker = Worker(
        f"bench-{channel}",
        queues=f"fanout,{channel}",
        concurrency=WORKER_PROCESSES,
        env={"LOG_LEVEL": "WARNING", **env},
    ).start()
    try:
        seconds, cpu_ms, rss = timed_runs(worker, event_type, size, runs, label=channel, unit="messages")
    finally:
        worker.stop()
        server.stop()
    requests = len(server.calls)
    return {
        "mode": channel,
        "seconds": seconds,
        "rate": size / median(seconds),
        "rss": rss,
        "cpu_ms": cpu_ms,
        "requests": requests,
    }


def main_http_channels(args) -> None:
    import tempfile

    results = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for channel in args.channel:
            event_type = ensure_audience(args.deliveries, channel)
            cleanup(event_type)
            print(f"{channel}:", flush=True)
            try:
                results.append(measure_http_channel(channel, event_type, args.deliveries, args.runs, Path(tmp)))
            finally:
                cleanup(event_type)
                Subscription.objects.filter(event_type=event_type, channel=channel).delete()
    names = {Channel.SLACK: "Slack (slack-sdk → chat.postMessage)", Channel.MOBILE_PUSH: "FCM v1 (firebase-admin)"}
    rows = [
        "| channel | median s | messages/s | runs (s) | requests | worker CPU ms/message | worker peak RSS |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for result in results:
        runs = ", ".join(f"{s:.2f}" for s in result["seconds"])
        rows.append(
            f"| {names[result['mode']]} | {median(result['seconds']):.2f} | {result['rate']:,.0f} | {runs} | "
            f"{result['requests']:,} | {result['cpu_ms']:.2f} | {result['rss']:.0f} MB |"
        )
    body = "\n".join(
        [
            f"{args.deliveries:,} deliveries of one event per channel, from publish to the last delivery `sent`, "
            f"through one Celery worker ({WORKER_PROCESSES} prefork processes, queues `fanout,<channel>`) into "
            "the local servers of the integration tests (Python `ThreadingHTTPServer`s in the bench process, "
            "speaking Slack's Web API and FCM v1 with its OAuth token endpoint). One HTTP request per "
            "message: Slack's batches of 50 go one request after the other (its rate limits are per "
            "workspace, and a 429 defers the rest of the batch); FCM's go "
            "OUTBOUND_HTTP_CONCURRENCY (8) at a time, one per device. Median of "
            f"{args.runs} run(s).",
            "",
            *rows,
            "",
            f"Load average (1 min) at start {load_before:.1f}, at end {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores, shared with other work: the CPU per message is the steadier figure. "
            "Real providers answer in tens of milliseconds rather than the local server's one or two, so "
            "a Slack worker process is bound by Slack's latency and its rate limit (about one message per "
            "second per channel), and FCM's by its round trips, eight in flight per process. "
            "The FCM requests include the OAuth token grants: each worker process fetches its token on "
            "first use, and the threads of its first batch may each ask before the first one has it.",
        ]
    )
    print(body)
    if not args.no_report:
        figures = [(f"{names[r['mode']]} messages/s", f"{r['rate']:,.0f}") for r in results]
        write_section("dispatch-slack-fcm", body, "python bench/dispatch.py --channel slack mobile_push", figures)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--channel",
        nargs="+",
        choices=[Channel.EMAIL, Channel.SLACK, Channel.MOBILE_PUSH],
        default=[Channel.EMAIL],
        help="email (the SMTP modes), or slack and/or mobile_push",
    )
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=4, help="SMTP connections per batch in the main mode")
    parser.add_argument("--no-report", action="store_true", help="print only, leave docs/BENCHMARKS.md alone")
    parser.add_argument("--modes", default="", help="comma-separated positions of the modes to run (default: all)")
    parser.add_argument("--tracking", action="store_true", help="the default mode with and without email tracking")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    if args.channel != [Channel.EMAIL]:
        main_http_channels(args)
        return
    event_type = ensure_audience(args.deliveries)
    with connection.cursor() as cursor:
        for model in (get_user_model(), Subscription):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    cleanup(event_type)
    port = free_port()
    sink = start_sink(port)
    parallel, wider = str(args.parallel), str(args.parallel * 2)
    modes = [
        (
            f"reused connections, {args.parallel} per batch in threads, each acceptance recorded before "
            "the next send (the default)",
            {"EMAIL_SMTP_PARALLEL_CONNECTIONS": parallel},
        ),
        (
            "the same with up to 8 acceptances unrecorded per connection (DELIVERY_ACCEPTANCE_WINDOW=8)",
            {"EMAIL_SMTP_PARALLEL_CONNECTIONS": parallel, "DELIVERY_ACCEPTANCE_WINDOW": "8"},
        ),
        (
            f"the default with {wider} connections per batch",
            {"EMAIL_SMTP_PARALLEL_CONNECTIONS": wider},
        ),
        ("reused connection, 1 per batch", {"EMAIL_SMTP_PARALLEL_CONNECTIONS": "1"}),
        (
            f"one connection per message, {args.parallel} threads per batch",
            {"EMAIL_SMTP_PARALLEL_CONNECTIONS": parallel, "EMAIL_SMTP_REUSE_CONNECTION": "false"},
        ),
    ]
    if args.modes:
        modes = [modes[int(i)] for i in args.modes.split(",")]
    if args.tracking:
        default_mode, default_env = modes[0]
        modes = [(default_mode, default_env), (f"{default_mode}, tracked", {**default_env, **TRACKED})]
        args.no_report = True
    results = []
    load_before = os.getloadavg()[0]
    try:
        for mode, env in modes:
            print(f"{mode}:", flush=True)
            results.append(measure(mode, env, event_type, args.deliveries, args.runs, port))
    finally:
        sink.terminate()
        sink.wait(10)
        cleanup(event_type)

    best = results[0]["rate"]
    rows = [
        "| mode | median s | emails/s | vs per-message | runs (s) | worker CPU ms/email | worker peak RSS |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    per_message = results[-1]["rate"]
    for result in results:
        runs = ", ".join(f"{s:.2f}" for s in result["seconds"])
        rows.append(
            f"| {result['mode']} | {median(result['seconds']):.2f} | {result['rate']:,.0f} | "
            f"{result['rate'] / per_message:.2f}× | {runs} | {result['cpu_ms']:.2f} | {result['rss']:.0f} MB |"
        )
    body = "\n".join(
        [
            f"{args.deliveries:,} email deliveries of one event, from publish to the last delivery `sent`, through "
            f"one Celery worker ({WORKER_PROCESSES} prefork processes, queues `fanout,email`, batches of 500) "
            "into Postfix's `smtp-sink` on 127.0.0.1. Fan-out, claiming, rendering, MIME building, SMTP and "
            "recording results are all inside the time. Median of "
            f"{args.runs} runs per mode; all modes in one invocation.",
            "",
            *rows,
            "",
            f"Default settings (reused connections, {args.parallel} per batch): **{best:,.0f} emails/s** "
            f"(target 1,000/s); fastest mode in this run {max(r['rate'] for r in results):,.0f}/s. "
            "Worker CPU per email: "
            f"{results[0]['cpu_ms']:.2f} ms with reused connections, {results[-1]['cpu_ms']:.2f} ms with one "
            "connection per message. CPU time does not depend on the rest of the machine's load the way "
            "wall-clock rates do; the worker's CPU is well under the wall time per email, so PostgreSQL, "
            "the sink and other work on the same two cores set the pace here.",
            "",
            f"Load average (1 min) at start {load_before:.1f}, at end {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores: other work shared the machine, so runs vary; compare modes within one run. "
            "Profiling a batch in one process showed the per-message MIME build (header folding) and "
            "Django's bulk_update of the results as most of the cost; each content's MIME is now built once "
            "and filled in per message, and a batch's results go in one UPDATE. "
            "Threads per batch overlap one connection's round trips with another's work; whether "
            "that beats one connection per batch (two in all, one per process) varied from run to run on "
            "this loaded machine, so EMAIL_SMTP_PARALLEL_CONNECTIONS is a setting to tune per host.",
        ]
    )
    print(body)
    if not args.no_report:
        write_section("dispatch", body, "python bench/dispatch.py")


if __name__ == "__main__":
    main()
