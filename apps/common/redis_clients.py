"""Every Redis client the service builds comes from here, so each has the same connect
and read timeouts and the same connection health check, whatever it is for: periodic
locks, provider rate limits and circuit breakers, API throttling, the health check,
the metrics scrape and the live inbox. (Celery's broker connection and Django's cache
are configured in the settings.)

One client, with its connection pool, per process for each purpose, URL and read
timeout, reused by every call: building a client per call costs more than the command
it sends. Each connection carries its purpose as its name, so Redis's CLIENT LIST
shows which part of the service holds it.
"""

import functools

import redis
from django.conf import settings

PURPOSES = frozenset({"locks", "rate_limits", "circuits", "throttling", "health", "metrics", "live_inbox"})


def redis_client(purpose: str, *, url: str | None = None, socket_timeout: float | None = None) -> redis.Redis:
    """The shared client for `purpose` on `url` (REDIS_URL unless given).

    socket_timeout: how long a command may wait for its answer, by default
    REDIS_SOCKET_TIMEOUT_SECONDS. A caller with a shorter budget of its own passes it
    (the health check answers within two seconds). A pub/sub read, like the live
    inbox's, waits with the timeout it gives get_message(timeout=...), not with this
    one, so it needs no longer socket timeout; a command that blocks on purpose without
    such a timeout of its own (BLPOP, XREAD BLOCK) must be given one longer than its block.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"Unknown Redis client purpose {purpose!r}; add it to PURPOSES")
    return _client(
        purpose,
        url or settings.REDIS_URL,
        settings.REDIS_SOCKET_TIMEOUT_SECONDS if socket_timeout is None else socket_timeout,
        settings.REDIS_CONNECT_TIMEOUT_SECONDS,
        settings.REDIS_HEALTH_CHECK_INTERVAL_SECONDS,
    )


@functools.cache
def _client(purpose, url, socket_timeout, connect_timeout, health_check_interval) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=connect_timeout,
        # A connection idle this long is pinged before use, so one broken while idle
        # (Redis restarted, a proxy dropped it) is replaced instead of failing a command.
        health_check_interval=health_check_interval,
        client_name=f"notifications:{purpose}",
    )
