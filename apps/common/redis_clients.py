"""Every Redis client the service builds comes from here, so each has the same connect
and read timeouts and the same connection health check, whatever it is for: periodic
locks, provider rate limits and circuit breakers, API throttling, the health check,
the metrics scrape and the live inbox. (Celery's broker connection and Django's cache
are configured in the settings.)

One client, with its connection pool, per process for each purpose, URL and read
timeout (and, for asyncio clients, per event loop), reused by every call: building a
client per call costs more than the command it sends. Each connection carries its
purpose as its name, so Redis's CLIENT LIST shows which part of the service holds it.
"""

import asyncio
import functools
import weakref

import redis
import redis.asyncio
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
    return _client(url or settings.REDIS_URL, frozenset(_options(purpose, socket_timeout).items()))


def _options(purpose: str, socket_timeout: float | None) -> dict:
    if purpose not in PURPOSES:
        raise ValueError(f"Unknown Redis client purpose {purpose!r}; add it to PURPOSES")
    return {
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT_SECONDS if socket_timeout is None else socket_timeout,
        "socket_connect_timeout": settings.REDIS_CONNECT_TIMEOUT_SECONDS,
        # A connection idle this long is pinged before use, so one broken while idle
        # (Redis restarted, a proxy dropped it) is replaced instead of failing a command.
        "health_check_interval": settings.REDIS_HEALTH_CHECK_INTERVAL_SECONDS,
        "client_name": f"notifications:{purpose}",
    }


@functools.cache
def _client(url: str, options: frozenset) -> redis.Redis:
    return redis.Redis.from_url(url, **dict(options))


# asyncio connections belong to the event loop that opened them: one client per loop.
_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


def redis_async_client(
    purpose: str, *, max_connections: int, pool_timeout: float, url: str | None = None
) -> redis.asyncio.Redis:
    """The running event loop's asyncio client for `purpose`, with the same timeouts.

    Its pool blocks: past max_connections a command waits up to pool_timeout seconds for
    a free connection instead of failing at once. A pub/sub read that blocks
    (get_message(timeout=None), listen()) waits for as long as it takes: the socket
    timeout bounds commands, not such reads.
    """
    key = (url or settings.REDIS_URL, frozenset(_options(purpose, None).items()), max_connections, pool_timeout)
    clients = _async_clients.setdefault(asyncio.get_running_loop(), {})
    if key not in clients:
        url, options, _, _ = key
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=pool_timeout, **dict(options)
        )
        clients[key] = redis.asyncio.Redis(connection_pool=pool)
    return clients[key]
