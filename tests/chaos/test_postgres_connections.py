"""PostgreSQL with a small max_connections and twice that many concurrent clients of the
web process (gunicorn as in production): the pools keep the service under the limit, and
when PostgreSQL refuses connections (restarted, then every slot taken by others) the API
answers 503 with Retry-After, never 500, and nothing half-written remains."""

import threading
import time
from collections import Counter

import psycopg
import pytest
import requests
from django.db import connection

from apps.common.services import api_key_create
from apps.events.models import Event

from ..worker import wait_until
from .web import WebServer

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

MAX_CONNECTIONS = 20
CLIENTS = 2 * MAX_CONNECTIONS
# Two gunicorn processes of 16 threads each, at most 6 connections each: 12 of the 20.
# The queue budget is off: what is tested is the web against a refusing database (the
# shedding of requests that queued is tests/common/test_load_shedding.py's).
WEB = {
    "WEB_CONCURRENCY": "2",
    "GUNICORN_THREADS": "16",
    "DATABASE_POOL_MAX_SIZE": "6",
    "LOAD_SHED_QUEUE_BUDGET_MS": "0",
}
DATABASE_POOL_TIMEOUT = 3
ALLOWED = {202, 429, 503}


class Clients:
    """CLIENTS threads posting events as fast as they are answered, each answer kept."""

    def __init__(self, url: str, token: str):
        self.url, self.token = f"{url}/api/v1/events/", token
        self.answers: list[tuple[float, int, dict, str | None]] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def _run(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        while not self.stopping.is_set():
            try:
                answer = session.post(self.url, json={"event_type": "scenario.created", "data": {}}, timeout=30)
            except requests.RequestException as exc:  # a refused or cut connection to the web
                self.answers.append((time.monotonic(), 0, {"error": str(exc)}, None))
                continue
            body = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {}
            self.answers.append((time.monotonic(), answer.status_code, body, answer.headers.get("Retry-After")))

    def __enter__(self) -> "Clients":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(60)

    def since(self, moment: float) -> list:
        return [answer for answer in list(self.answers) if answer[0] >= moment]


def server_connections(port: int) -> int:
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres") as admin:
        return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'").fetchone()[
            0
        ]


def take_every_slot(port: int) -> list:
    """Other clients take every connection PostgreSQL has left."""
    hogs = []
    while True:
        try:
            hogs.append(psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres"))
        except psycopg.OperationalError:
            return hogs


@pytest.fixture
def small_postgres(private_pg):
    private_pg.settings["max_connections"] = str(MAX_CONNECTIONS)
    private_pg.restart()
    connection.close()
    yield private_pg
    del private_pg.settings["max_connections"]
    private_pg.restart()
    connection.close()


def test_twice_max_connections_clients_get_only_2xx_429_or_503(small_postgres, broker, event_types):
    _, token = api_key_create(name="crowd")
    connection.close()  # the test keeps no connection of its own while the crowd runs
    web = WebServer(
        redis_url=broker.url(0), env={**WEB, "DATABASE_POOL_TIMEOUT_SECONDS": str(DATABASE_POOL_TIMEOUT)}
    ).start()
    peak = 0
    try:
        with Clients(web.url, token) as crowd:
            began = time.monotonic()
            while time.monotonic() - began < 10:  # the crowd alone
                peak = max(peak, server_connections(small_postgres.port))
                time.sleep(0.5)
            crowd_alone = crowd.since(began)

            # PostgreSQL restarts (every pooled connection cut) and others take every
            # slot before the pools reconnect: it refuses the web's connections.
            refused_at = time.monotonic()
            small_postgres.restart()
            hogs = take_every_slot(small_postgres.port)
            time.sleep(2 * DATABASE_POOL_TIMEOUT + 2)
            for hog in hogs:
                hog.close()
            released_at = time.monotonic()
            wait_until(lambda: any(a[1] == 202 for a in crowd.since(released_at + 1)), timeout=60, interval=0.5)
    finally:
        web.stop()

    answers = list(crowd.answers)
    codes = Counter(code for _, code, _, _ in answers)
    during = Counter(code for at, code, _, _ in answers if refused_at <= at < released_at)
    print(
        f"\nmax_connections={MAX_CONNECTIONS}, {CLIENTS} clients: {len(answers)} answers {dict(codes)}; "
        f"while refused {dict(during)}; server connections at most {peak} during the crowd alone; "
        f"{len(hogs)} slots taken by others"
    )
    assert set(codes) <= ALLOWED, codes
    assert Counter(code for _, code, _, _ in crowd_alone)[202] > 0.9 * len(crowd_alone)
    assert peak <= 2 * int(WEB["DATABASE_POOL_MAX_SIZE"]) + 1  # the pools, and this count's own
    assert during[503] > 0, "PostgreSQL never refused the web"
    for _, code, body, retry_after in answers:
        if code == 503:
            assert body["error"]["code"] == "database_unavailable", body
            assert body["error"]["details"]["retry_after"] == int(retry_after) > 0
    # Nothing half-written: exactly one event per accepted request.
    assert Event.objects.count() == codes[202]
