"""A bulk send's CPU in the web process, its rows written by one statement against the
ORM's three bulk_creates, interleaved in one invocation.

In process (Django's test client through the whole middleware stack), on PostgreSQL:
`POST /api/v1/notifications/bulk/` with BENCH_BULK_ITEMS sends of 3 recipients each,
in_app + email, as bench/api.py sends them. Each round runs ROUND_REQUESTS requests with
the one-statement insert (apps/notifications/send_rows.py) and as many with the ORM's
bulk_create (its SQLite path), alternating, so the machine's drift falls on both; the
figure is the median of the rounds' process CPU per request, and their ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/notif_bulk_bench python bench/bulk_rows.py

The database is migrated, not emptied; the Redis database (REDIS_URL) receives the
fan-out tasks, which no worker takes; they are purged at the end.
"""

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.production_env import production_like  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
production_like()
os.environ.setdefault("ALLOWED_HOSTS", "localhost")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from apps.common.services import api_key_create  # noqa: E402
from apps.events.event_types import event_type_ensure  # noqa: E402
from apps.notifications import send_rows, sends  # noqa: E402
from bench.report import write_section  # noqa: E402

ITEMS = int(os.environ.get("BENCH_BULK_ITEMS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))
ROUND_REQUESTS = int(os.environ.get("BENCH_ROUND_REQUESTS", "100"))
PEOPLE = 50


def fixture() -> tuple[Client, str, list[int]]:
    call_command("migrate", verbosity=0)
    event_type = event_type_ensure(key="bench.bulk", name="Bench bulk")
    users = get_user_model().objects
    for n in range(PEOPLE):
        users.get_or_create(username=f"bulk{n}", defaults={"email": f"bulk{n}@example.com"})
    people = list(users.filter(username__startswith="bulk").values_list("pk", flat=True))
    _, key = api_key_create(name=f"bench bulk {time.time()}", scopes=["notifications:write"])
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", SERVER_NAME="localhost"), event_type.key, people


def bulk_body(event_type: str, people: list[int]) -> str:
    one = {"event_type": event_type, "channels": ["in_app", "email"], "priority": "normal"}
    items = [
        {**one, "recipients": random.sample(people, 3), "data": {"n": random.randrange(10**9)}} for _ in range(ITEMS)
    ]
    return json.dumps({"notifications": items})


def cpu_ms_per_request(client: Client, event_type: str, people: list[int], count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        response = client.post(
            "/api/v1/notifications/bulk/", bulk_body(event_type, people), content_type="application/json"
        )
        if response.status_code != 202:
            raise SystemExit(f"bulk send refused: {response.status_code} {response.content[:300]!r}")
    return 1000 * (time.process_time() - started) / count


def main() -> None:
    client, event_type, people = fixture()
    ways = {"one statement": sends.send_rows_insert, "ORM bulk_create": send_rows.send_rows_insert_orm}
    cpu_ms_per_request(client, event_type, people, 20)  # warm-up: connections, compiled statements
    rounds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, insert in ways.items():
            sends.send_rows_insert = insert
            rounds[name].append(cpu_ms_per_request(client, event_type, people, ROUND_REQUESTS))
    sends.send_rows_insert = ways["one statement"]
    from notifications_project.celery import app

    app.control.purge()
    report(rounds)


def report(rounds: dict[str, list[float]]) -> None:
    medians = {name: statistics.median(values) for name, values in rounds.items()}
    ratio = medians["one statement"] / medians["ORM bulk_create"]
    rows = [
        "| rows written by | web CPU ms per bulk request (median) | per send | rounds |",
        "|---|---:|---:|---|",
    ]
    for name, values in rounds.items():
        cells = ", ".join(f"{v:.1f}" for v in values)
        rows.append(f"| {name} | {medians[name]:.2f} | {medians[name] / ITEMS:.2f} | {cells} |")
    lines = [
        f"In process (Django's test client, whole middleware stack), PostgreSQL: bulk requests of {ITEMS} sends "
        f"(3 recipients each, in_app + email); {ROUNDS} rounds of {ROUND_REQUESTS} requests each way, alternating. "
        "Web process CPU only (the database's share is in the api section). "
        f"Load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}.",
        "",
        *rows,
        "",
        f"One statement / bulk_create: **{ratio:.2f}×** the CPU per request.",
    ]
    body = "\n".join(lines)
    write_section(
        "bulk-rows", body, "python bench/bulk_rows.py", [("bulk send, web CPU: one statement / ORM", f"{ratio:.2f}×")]
    )
    print(body)  # noqa: T201


if __name__ == "__main__":
    main()
