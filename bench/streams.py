"""Live streams vs the inbox API: does holding STREAMS open streams cost the API its tail?

The inbox list (`GET /api/v1/inbox/`, 50 items a page) is offered at INBOX_RATE req/s by
wrk with bench/wrk/paced.lua (bench/api.py's runner, its gunicorn API pool) alternately
without streams and with STREAMS streams held open on the stream process (uvicorn, as
in the Procfile and compose) by a second process of this script: one asyncio client,
one raw socket per stream, 5 streams for each of 200 people (the per-person cap). RUNS
runs of each, interleaved, so the machine's drift falls on both. Once more, the same
load on the whole web under uvicorn (the alternative to a separate stream process).

    DATABASE_URL=postgres://…/bench REDIS_URL=redis://127.0.0.1:6379/12 python bench/streams.py
"""

import asyncio
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.servers import server_start  # noqa: E402

os.environ.setdefault("BENCH_SECONDS", "15")


def raise_open_files_limit() -> int:
    """Each held stream is a socket in the client and one in the server; the servers
    started from here inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- the stream holder (a process of its own: `python bench/streams.py hold PORT COUNT`) ---


async def _open_stream(port: int, token: str):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            f"GET /api/v1/inbox/stream/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Token {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream refused: {status!r} {await reader.read(500)!r}")
    while not (await reader.readline()).startswith(b"retry:"):
        pass  # headers, then the stream's first line: it is subscribed and holds its slot
    return reader, writer


async def _drain(reader, counts: dict) -> None:
    while line := await reader.readline():
        if line.startswith(b": keep-alive"):
            counts["keepalives"] += 1
    counts["closed"] += 1


async def hold(port: int, count: int) -> None:
    tokens = sys.stdin.readline().split()
    started = time.monotonic()
    gate = asyncio.Semaphore(50)  # connect in waves: a burst of 1,000 SYNs overflows the backlog

    async def opened(n):
        async with gate:
            return await _open_stream(port, tokens[n % len(tokens)])

    streams = await asyncio.gather(*(opened(n) for n in range(count)))
    print(f"OPEN {len(streams)} {time.monotonic() - started:.2f}", flush=True)  # noqa: T201
    counts = {"keepalives": 0, "closed": 0}
    drains = [asyncio.create_task(_drain(reader, counts)) for reader, _ in streams]
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the runner closes stdin
    print(f"HELD {count - counts['closed']} {counts['keepalives']}", flush=True)  # noqa: T201
    for task in drains:
        task.cancel()
    for _, writer in streams:
        writer.close()


# --- the runner ---


STREAMS = int(os.environ.get("BENCH_STREAMS", "1000"))
STREAM_PORT = int(os.environ.get("BENCH_STREAM_PORT", "8766"))
ASGI_API_PORT = int(os.environ.get("BENCH_ASGI_API_PORT", "8767"))


def _django():
    """bench/api.py's runner, with Django set up for the benchmark (not needed to hold streams)."""
    global api, median, write_section
    from bench import api
    from bench.report import median, write_section


def start_uvicorn(port: int, workers: int) -> subprocess.Popen:
    return server_start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "notifications_project.asgi:application",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--lifespan",
            "off",
        ],
        answer_url=f"http://127.0.0.1:{port}/health/",
        name="uvicorn",
    )


class Holder:
    """The client process holding the streams open while a run measures the API."""

    def __init__(self, tokens: list[str]):
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "hold", str(STREAM_PORT), str(STREAMS)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.process.stdin.write(" ".join(tokens) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline().split()
        if not line or line[0] != "OPEN":
            raise RuntimeError(f"the holder did not open its streams: {line}")
        self.open, self.open_seconds = int(line[1]), float(line[2])

    def close(self) -> tuple[int, int]:
        """(streams still open at the end, keep-alives received)."""
        self.process.stdin.close()
        held = self.process.stdout.readline().split()
        self.process.wait(30)
        return int(held[1]), int(held[2])


def pubsub_connections() -> tuple[int, int]:
    """(pub/sub connections, channels they subscribe) on the benchmark's Redis database:
    the stream process's subscribers, whatever other clients the server has."""
    from apps.inbox.live import live_client

    client = live_client()
    db = client.connection_pool.connection_kwargs.get("db", 0)
    subscribers = [c for c in client.client_list() if int(c["db"]) == db and int(c.get("sub", 0)) > 0]
    return len(subscribers), sum(int(c["sub"]) for c in subscribers)


def per_stream_subscriptions_cost(count: int) -> dict:
    """What the alternative to the hub would cost: a pub/sub connection per stream (the
    people's channels as in the held streams), measured on the benchmark's Redis."""
    import redis
    import redis.asyncio

    from apps.inbox.live import inbox_channel

    url = os.environ["REDIS_URL"]
    server = redis.Redis.from_url(url)

    async def subscribe_all():
        before = server.info("memory")["used_memory"], server.info("clients")["connected_clients"]
        rss_before = process_rss_mb(os.getpid())
        started = time.monotonic()
        held = []
        for n in range(count):
            client = redis.asyncio.Redis.from_url(url)
            pubsub = client.pubsub()
            await pubsub.subscribe(inbox_channel(10**9 + n % 200))
            held.append((client, pubsub))
        took = time.monotonic() - started
        after = server.info("memory")["used_memory"], server.info("clients")["connected_clients"]
        rss_after = process_rss_mb(os.getpid())
        for client, pubsub in held:
            await pubsub.aclose()
            await client.aclose()
        return {
            "clients": after[1] - before[1],
            "redis_mib": (after[0] - before[0]) / 2**20,
            "client_mb": rss_after - rss_before,
            "seconds": took,
        }

    return asyncio.run(subscribe_all())


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its children (uvicorn's workers are
    spawned processes whose command lines do not name uvicorn)."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / api.TICKS
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(tree_cpu_seconds(int(child)) for child in children)


def process_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    files = raise_open_files_limit()
    if files < 2 * STREAMS + 200:
        sys.exit(f"open files limit {files} is too low for {STREAMS} streams")
    _django()
    api.CPU_OF["stream"] = re.compile(rf"uvicorn notifications_project.* --port {STREAM_PORT}\b")
    api.CPU_OF["holder"] = re.compile(r"bench/streams\.py hold")
    load_at_start = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    data = api.fixture()
    runs = {"without": [], "with": [], "asgi": []}
    held = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BENCH_FIXTURE_LUA"] = f"{tmp}/fixture.lua"
        api.lua_fixture(data, Path(os.environ["BENCH_FIXTURE_LUA"]))
        web = api.start_web()
        stream = start_uvicorn(STREAM_PORT, 1)
        try:
            api.wrk("inbox", 50, 3, api.INBOX_P99_MS)  # warm-up: connections, caches
            # Warm-up at the full rate: the first measured run must not pay for cold caches.
            api.wrk("inbox", api.INBOX_RATE, 8, api.INBOX_P99_MS)
            for run in range(api.RUNS):
                # Alternate which comes first, so a drift of the machine's load is shared.
                order = ("without", "with") if run % 2 == 0 else ("with", "without")
                for name in order:
                    if name == "without":
                        runs["without"].append(api.wrk("inbox", api.INBOX_RATE, api.SECONDS, api.INBOX_P99_MS))
                        continue
                    holder = Holder(data["tokens"])
                    pubsubs, channels = pubsub_connections()
                    stream_rss = process_rss_mb(stream.pid)
                    runs["with"].append(api.wrk("inbox", api.INBOX_RATE, api.SECONDS, api.INBOX_P99_MS))
                    still_open, keepalives = holder.close()
                    held.append(
                        {
                            "opened": holder.open,
                            "open_s": holder.open_seconds,
                            "still_open": still_open,
                            "keepalives": keepalives,
                            "pubsub_connections": pubsubs,
                            "channels": channels,
                            "stream_rss": stream_rss,
                        }
                    )
                    print("held", held[-1], flush=True)  # noqa: T201
                    time.sleep(2)  # the closed streams' slots free
        finally:
            stream.terminate()
            stream.wait(30)
            web.terminate()
            web.wait(30)
        asgi_web = start_uvicorn(ASGI_API_PORT, api.WEB_WORKERS)
        try:
            host = f"http://127.0.0.1:{ASGI_API_PORT}"
            api.wrk("inbox", api.INBOX_RATE, 8, api.INBOX_P99_MS, host=host)
            before = tree_cpu_seconds(asgi_web.pid)
            runs["asgi"] = [
                api.wrk("inbox", api.INBOX_RATE, api.SECONDS, api.INBOX_P99_MS, host=host) for _ in range(api.RUNS)
            ]
            requests = sum(sum(r["statuses"].values()) for r in runs["asgi"])
            asgi_cpu_ms = (tree_cpu_seconds(asgi_web.pid) - before) * 1000 / max(1, requests)
        finally:
            asgi_web.terminate()
            asgi_web.wait(30)
    alternative = per_stream_subscriptions_cost(STREAMS)
    report(runs, held, load_at_start, asgi_cpu_ms, alternative)


def report(runs, held, load_at_start, asgi_cpu_ms, alternative):
    def figure(name, key):
        return median([r[key] for r in runs[name]])

    def each(name, key):
        return ", ".join(f"{r[key]:.1f}" for r in runs[name])

    def cpu(name, part):
        return median([r["cpu_ms"][part] for r in runs[name]])

    ratio = figure("with", "p99") / figure("without", "p99")
    ratios = ", ".join(f"{w['p99'] / o['p99']:.2f}" for o, w in zip(runs["without"], runs["with"], strict=True))
    opened = ", ".join(f"{h['opened']} in {h['open_s']:.1f} s" for h in held)
    rss = ", ".join(f"{h['stream_rss']:.0f}" for h in held)
    lines = [
        f"Inbox list (`GET /api/v1/inbox/`, 50 items/page) offered at {api.INBOX_RATE} req/s by wrk "
        f"(bench/wrk/paced.lua: Poisson arrivals, a new connection per request) to the API pool (gunicorn gthread, "
        f"{api.WEB_WORKERS} processes × {api.WEB_THREADS} thread), alternately without streams and with "
        f"{STREAMS:,} live streams held open on the stream process (one uvicorn process, default settings: "
        f"keep-alive every 15 s) by one asyncio client with a raw socket per stream, 5 for each of 200 people. "
        f"{api.RUNS} runs of {api.SECONDS} s each, interleaved "
        "(which comes first alternates), after 8 s of warm-up; all on the same 2 cores, PostgreSQL and Redis "
        "included.",
        "",
        "| inbox API | p50 ms (median) | p99 ms (median) | p99 of each run | achieved req/s | CPU ms/request: "
        "API web + PostgreSQL + Redis | stream process CPU ms/request |",
        "|---|---:|---:|---|---:|---|---:|",
    ]
    for name, label in (("without", "no streams"), ("with", f"{STREAMS:,} streams open")):
        lines.append(
            f"| {label} | {figure(name, 'p50'):.1f} | {figure(name, 'p99'):.1f} | {each(name, 'p99')} | "
            f"{figure(name, 'rate'):.0f} | {cpu(name, 'web'):.1f} + {cpu(name, 'postgres'):.1f} + "
            f"{cpu(name, 'redis'):.2f} | {cpu(name, 'stream'):.2f} |"
        )
    lines += [
        "",
        f"**p99 with {STREAMS:,} open streams / without: {ratio:.2f}** (target ≤ 1.20; per pair of runs: {ratios}).",
        "",
        f"Streams opened (all admitted, each person at the cap of 5): {opened}; still open at the end of each run: "
        f"{', '.join(str(h['still_open']) for h in held)}; keep-alives received: "
        f"{', '.join(str(h['keepalives']) for h in held)}. Redis pub/sub connections while they were open: "
        f"{', '.join(str(h['pubsub_connections']) for h in held)}, subscribed to "
        f"{', '.join(str(h['channels']) for h in held)} channels (one per person watching, one connection for "
        "the process's streams). A pub/sub connection per stream instead, measured on the same Redis: "
        f"+{alternative['clients']:,} Redis clients, +{alternative['redis_mib']:.0f} MiB of Redis memory, "
        f"+{alternative['client_mb']:.0f} MB in the subscribing process, {2 * STREAMS:,} more sockets. "
        "Stream process RSS with the streams open: "
        f"{rss} MB.",
        "",
        f"The same load on the whole web under uvicorn ({api.WEB_WORKERS} processes, the sync views run in "
        f"Django's thread per process): p50 {figure('asgi', 'p50'):.1f} ms, p99 {figure('asgi', 'p99'):.1f} ms "
        f"(runs {each('asgi', 'p99')}); web CPU {asgi_cpu_ms:.1f} ms/request against "
        f"{cpu('without', 'web'):.1f} under gunicorn.",
        "",
        f"Load average of the machine when the runs started: {load_at_start}.",
    ]
    body = "\n".join(lines)
    print(body)  # noqa: T201
    figures = [
        (f"inbox API p99 at {api.INBOX_RATE} req/s, {STREAMS:,} streams open / none", f"{ratio:.2f}×"),
        (f"inbox API p99 with {STREAMS:,} streams open", f"{figure('with', 'p99'):.1f} ms"),
    ]
    write_section("streams", body, "python bench/streams.py", figures)


if __name__ == "__main__":
    if sys.argv[1:2] == ["hold"]:
        raise_open_files_limit()
        asyncio.run(hold(int(sys.argv[2]), int(sys.argv[3])))
    else:
        main()
