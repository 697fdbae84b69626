"""`make run`'s web on PostgreSQL under concurrent clients: the Procfile's web line,
started as honcho starts it, with the real settings and DEBUG on. Django keeps a
connection per request thread unless told not to; the development servers' threads
come and go, so kept connections piled up until PostgreSQL refused more and the API
answered 500. With DEBUG, CONN_MAX_AGE defaults to 0: every answer is a 2xx and the
server's backends stay bounded by the requests in flight, then fall back."""

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from django.db import connection
from rest_framework.authtoken.models import Token

from .. import worker
from ..sinks import free_port
from ..worker import ROOT, wait_until
from .test_deployment_files import PROCFILE

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLIENTS = 30
REQUESTS_PER_CLIENT = 6
# With connections kept by threads that come and go, each request may leave one behind:
# fewer requests show the pile-up without taking every connection PostgreSQL has (100),
# which idle workers' pooled connections share.
REQUESTS_PER_CLIENT_KEPT = 2


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        if os.environ.get("CI"):
            pytest.fail("the connection test needs PostgreSQL (DATABASE_URL)")
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    return worker.test_database_url()


def web_process(database_url: str, port: int, env_overrides: dict) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key not in ("CONN_MAX_AGE", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DEBUG="true",
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9"),
        WEB_PORT=str(port),
        PORT=str(port),
        PATH=f"{os.path.dirname(sys.executable)}:{env['PATH']}",
        # What is measured here is the connections every request holds: none may be
        # shed for having queued (tests/common/test_load_shedding.py tests that).
        LOAD_SHED_QUEUE_BUDGET_MS="0",
        **env_overrides,
    )
    log = open(ROOT / ".pytest_cache" / "web-connections.log", "ab")  # noqa: SIM115 (owned by the process)
    return subprocess.Popen(
        ["sh", "-c", f"exec {PROCFILE['web']}"],  # the shell expands ${WEB_PORT:-8000}, as honcho's does
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def backends(database_url: str) -> int:
    """Connections to the database other than this sampler's own."""
    with psycopg.connect(database_url, autocommit=True) as sampler:
        return sampler.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]


def run_load(base_url: str, token: str, database_url: str, requests_per_client: int) -> tuple[list[int], int]:
    """CLIENTS clients at once, each `requests_per_client` requests that read the
    database; returns the statuses and the most backends seen meanwhile."""
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], backends(database_url))
            time.sleep(0.05)

    def client(_):
        with requests.Session() as session:
            session.headers["Authorization"] = f"Token {token}"
            return [
                session.get(f"{base_url}/api/v1/inbox/unread-count/", timeout=30).status_code
                for _ in range(requests_per_client)
            ]

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = [status for answers in pool.map(client, range(CLIENTS)) for status in answers]
    finally:
        done.set()
        sampler.join()
    return statuses, peak[0]


POOL_MAX = 8  # DATABASE_POOL_MAX_SIZE's default: what one web process may keep


@pytest.mark.parametrize(
    ("overrides", "keeps_connections"),
    [
        ({}, "pool"),
        ({"DATABASE_POOL_MAX_SIZE": "0"}, "none"),
        ({"DATABASE_POOL_MAX_SIZE": "0", "CONN_MAX_AGE": "60"}, "threads"),
    ],
    ids=["make-run-pool", "no-pool", "no-pool-kept-60s"],
)
def test_concurrent_clients_get_2xx_and_the_backends_stay_bounded(postgres, make_user, overrides, keeps_connections):
    token = Token.objects.create(user=make_user("reader")).key
    connection.close()  # this test's own connection is not counted below
    port = free_port()
    web = web_process(postgres, port, overrides)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(base_url, web), timeout=60, interval=0.3, message="the web to answer /health/")
        idle = backends(postgres)

        per_client = REQUESTS_PER_CLIENT_KEPT if keeps_connections == "threads" else REQUESTS_PER_CLIENT
        statuses, peak = run_load(base_url, token, postgres, per_client)

        print(f"{overrides or 'make run'}: {len(statuses)} answers, backends idle {idle}, peak {peak}")
        assert len(statuses) == CLIENTS * per_client
        assert {status for status in statuses} == {200}
        if keeps_connections != "threads":
            assert peak <= idle + CLIENTS  # never more than one per request in flight
        if keeps_connections == "pool":
            # The pool keeps what it opened, never more than its size.
            assert peak <= idle + POOL_MAX
            assert backends(postgres) <= idle + POOL_MAX
        elif keeps_connections == "threads":
            # The old default: the threads are gone, their connections are not.
            time.sleep(1)
            print(f"backends a second after the load: {backends(postgres)}")
            assert backends(postgres) >= idle + CLIENTS // 4
        else:
            wait_until(lambda: backends(postgres) <= idle, timeout=10, message="the backends to fall back")
    finally:
        os.killpg(web.pid, 15)
        web.wait(15)


def _healthy(base_url: str, web: subprocess.Popen) -> bool:
    assert web.poll() is None, "the web exited; see .pytest_cache/web-connections.log"
    try:
        return requests.get(f"{base_url}/health/", timeout=2).status_code == 200
    except requests.RequestException:
        return False
