"""apps/common/redis_clients.py: every Redis client the service builds has the shared
connect and read timeouts. Proven against a Redis that hangs (a TCP server on loopback
that lets each connection's handshake through to the real Redis, then answers nothing):
each part of the service gives up after the read timeout instead of hanging, and names
itself in the CLIENT SETNAME it sent, so the test knows whose client it was."""

import asyncio
import contextlib
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import redis

from apps.common.redis_clients import PURPOSES, redis_async_client, redis_client
from apps.delivery.resilience.circuit import CircuitBreaker
from apps.delivery.resilience.ratelimit import TokenBucket
from apps.inbox.live import inbox_watchers
from apps.scheduling.locks import periodic_run

ROOT = Path(__file__).resolve().parents[2]
READ_TIMEOUT = 0.3


HANDSHAKE = re.compile(rb"\$5\r\nHELLO\r\n|\$6\r\nCLIENT\r\n", re.IGNORECASE)


class SilentRedis:
    """A Redis that hangs once connected: it passes each connection's handshake (HELLO,
    CLIENT SETNAME ...) on to the real test Redis and answers nothing after it. Keeps
    what each connection sent."""

    def __init__(self, upstream_url: str):
        self.upstream = redis.connection.parse_url(upstream_url)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.server.getsockname()[1]}/0"
        self.received = []
        self.sockets = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection((self.upstream["host"], self.upstream.get("port", 6379)))
            self.sockets += [conn, upstream]
            threading.Thread(target=self._relay_handshake, args=(conn, upstream), daemon=True).start()
            threading.Thread(target=self._copy, args=(upstream, conn), daemon=True).start()

    def _relay_handshake(self, conn, upstream):
        greeting = False
        with contextlib.suppress(OSError):
            while chunk := conn.recv(65536):
                self.received.append(chunk)
                handshake = bool(HANDSHAKE.match(chunk.split(b"\r\n", 1)[1]))
                greeting = greeting or handshake
                # The connection's health-check PING comes before its HELLO; after the
                # handshake, nothing is answered.
                if handshake or not greeting:
                    upstream.sendall(chunk)

    @staticmethod
    def _copy(source, target):
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                target.sendall(chunk)

    def names(self) -> set[str]:
        """The client names the service's connections gave themselves."""
        sent = b"".join(self.received).decode(errors="replace")
        return set(re.findall(r"SETNAME\r\n\$\d+\r\nnotifications:(\w+)\r\n", sent))

    def close(self):
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def silent_redis(settings):
    server = SilentRedis(settings.REDIS_URL)
    settings.REDIS_URL = settings.CELERY_BROKER_URL = server.url
    settings.REDIS_SOCKET_TIMEOUT_SECONDS = READ_TIMEOUT
    yield server
    server.close()


def timed(call):
    started = time.monotonic()
    outcome = call()
    return outcome, time.monotonic() - started


def gives_up(call) -> float:
    """Seconds until `call` raised Redis's TimeoutError."""
    started = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        call()
    return time.monotonic() - started


def test_locks_rate_limits_circuits_and_live_inbox_give_up_after_the_read_timeout(silent_redis):
    def lock():
        with periodic_run("probe", 60):
            pass

    waited = {
        "locks": gives_up(lock),
        "rate_limits": gives_up(lambda: TokenBucket("probe", rate=10).take(1)),
        "circuits": gives_up(lambda: CircuitBreaker("probe", threshold=3, cooldown=1).state()),
        "live_inbox": gives_up(inbox_watchers),
    }
    assert all(READ_TIMEOUT * 0.9 <= seconds < 3 for seconds in waited.values()), waited
    assert silent_redis.names() == set(waited)


@pytest.mark.django_db
def test_throttling_health_and_metrics_answer_despite_a_silent_redis(silent_redis, api_key_client, client):
    response, seconds = timed(lambda: api_key_client(["read"]).get("/api/v1/event-types/"))
    assert response.status_code == 200 and seconds < 3  # throttling fails open
    assert silent_redis.names() == {"throttling"}

    response, seconds = timed(lambda: client.get("/health/"))
    assert response.status_code == 503 and response.json()["checks"]["broker"] == "error: TimeoutError"
    assert seconds < 5  # its own two-second budget
    assert "health" in silent_redis.names()

    response, seconds = timed(lambda: client.get("/metrics"))
    assert response.status_code == 200 and seconds < 5
    assert 'notifications_scrape_error{source="broker"} 1.0' in response.content.decode()
    assert 'notifications_scrape_error{source="circuits"} 1.0' in response.content.decode()
    assert "metrics" in silent_redis.names()
    assert silent_redis.names() == {"throttling", "health", "metrics", "circuits"}


def test_every_purpose_gets_the_configured_timeouts_and_one_client_per_url(settings):
    for purpose in PURPOSES:
        client = redis_client(purpose)
        assert client is redis_client(purpose)  # one pool per process, not one per call
        options = client.connection_pool.connection_kwargs
        assert options["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT_SECONDS
        assert options["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT_SECONDS
        assert options["health_check_interval"] == settings.REDIS_HEALTH_CHECK_INTERVAL_SECONDS
        assert client.ping()
    assert redis_client("health", socket_timeout=2).connection_pool.connection_kwargs["socket_timeout"] == 2
    other_db = 14 if settings.REDIS_URL.rstrip("/").endswith("/15") else 15
    assert redis_client("locks", url=f"redis://127.0.0.1:6379/{other_db}") is not redis_client("locks")
    with pytest.raises(ValueError):
        redis_client("lock")


def test_a_pub_sub_read_may_wait_longer_than_the_read_timeout(settings):
    """The live inbox waits for messages with get_message's own timeout, longer than
    the socket's: that wait ends quietly, it is no timeout error."""
    settings.REDIS_SOCKET_TIMEOUT_SECONDS = READ_TIMEOUT
    pubsub = redis_client("live_inbox").pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("probe:quiet")
    try:
        assert pubsub.get_message(timeout=1) is None  # the subscription's confirmation, ignored
        message, seconds = timed(lambda: pubsub.get_message(timeout=4 * READ_TIMEOUT))
        assert message is None and seconds >= 3.5 * READ_TIMEOUT
    finally:
        pubsub.close()


def async_client():
    return redis_async_client("live_inbox", max_connections=4, pool_timeout=1)


def test_an_async_client_per_event_loop_with_the_same_timeouts_and_waiting_pub_sub_reads(settings):
    settings.REDIS_SOCKET_TIMEOUT_SECONDS = READ_TIMEOUT

    async def scenario():
        client = async_client()
        assert client is async_client()
        pubsub = client.pubsub()
        await pubsub.subscribe("probe:async")
        assert (await pubsub.get_message(timeout=1))["type"] == "subscribe"

        async def publish_later():
            await asyncio.sleep(4 * READ_TIMEOUT)
            await redis_async_client("live_inbox", max_connections=4, pool_timeout=1).publish("probe:async", "late")

        publisher = asyncio.create_task(publish_later())
        message, seconds = await timed_async(pubsub.get_message(timeout=None))  # waits, no timeout error
        await publisher
        await pubsub.aclose()
        return client, message, seconds

    client, message, seconds = asyncio.run(scenario())
    assert message["data"] == b"late" and seconds >= 3.5 * READ_TIMEOUT
    options = client.connection_pool.connection_kwargs
    assert options["socket_timeout"] == READ_TIMEOUT
    assert options["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT_SECONDS
    assert options["health_check_interval"] == settings.REDIS_HEALTH_CHECK_INTERVAL_SECONDS
    assert client.connection_pool.max_connections == 4
    other_loop_client, _, _ = asyncio.run(scenario())
    assert other_loop_client is not client  # its connections belong to another loop


def test_an_async_command_gives_up_after_the_read_timeout(silent_redis):
    async def ping():
        return await async_client().ping()

    assert READ_TIMEOUT * 0.9 <= gives_up(lambda: asyncio.run(ping())) < 3
    assert silent_redis.names() == {"live_inbox"}


async def timed_async(awaitable):
    started = time.monotonic()
    outcome = await awaitable
    return outcome, time.monotonic() - started


def test_the_factory_is_the_only_place_a_redis_client_is_built():
    construction = re.compile(r"\b(?:from_url|StrictRedis|Redis|ConnectionPool)\(")
    found = {
        str(path.relative_to(ROOT))
        for folder in ("apps", "notifications_project")
        for path in (ROOT / folder).rglob("*.py")
        if construction.search(path.read_text())
    }
    assert found == {"apps/common/redis_clients.py"}
