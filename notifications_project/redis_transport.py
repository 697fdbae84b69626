"""kombu's Redis transport, publishing through one Redis client per channel.

kombu 5.7 builds a new `redis.Redis` for every message it publishes
(`Channel.conn_or_acquire` → `_create_client`), and redis-py 8 sets up some two hundred
response callbacks in each client's `__init__`: building it was a large part of a
publish's own CPU (0.3–0.6 ms of a bulk send's 9 ms in the web, tests/ops/
test_redis_transport.py counts the clients). A client holds nothing but the channel's
connection pool, which every client of the channel shares anyway, so this channel keeps
one and hands it out instead; redis-py clients are safe to share between threads, and
the pool resets itself in a forked child.

`install()` makes it the transport of `redis://` and `rediss://` broker URLs (kombu's
own registry of transports by scheme); other brokers are left alone.
"""

from contextlib import contextmanager

from kombu import transport as kombu_transports
from kombu.transport import redis as kombu_redis
from kombu.utils.objects import cached_property


class Channel(kombu_redis.Channel):
    @cached_property
    def _shared_client(self):
        return self._create_client()

    @contextmanager
    def conn_or_acquire(self, client=None):
        yield client or self._shared_client


class Transport(kombu_redis.Transport):
    Channel = Channel


SCHEMES = ("redis", "rediss")


def install() -> None:
    """Use this transport for the schemes in SCHEMES, before any connection is made."""
    for scheme in SCHEMES:
        kombu_transports.TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
        kombu_transports._transport_cache.pop(scheme, None)
