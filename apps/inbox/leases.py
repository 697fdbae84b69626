"""At most INBOX_STREAMS_PER_PERSON open streams per person, counted across every
stream process in Redis.

Each open stream holds a lease: a member of the person's sorted set, scored with the
moment it expires. The stream renews it at every heartbeat and removes it when it
ends; a process that dies without ending its streams leaves leases that simply expire
(INBOX_STREAM_LEASE_SECONDS), so a crash can never lock a person out for good. Expiry
times come from Redis's clock (TIME in the script), so the processes' clocks do not
matter.
"""

import math
import uuid

from django.conf import settings

from .hub import live_async_client

# KEYS[1]: the person's leases. ARGV: lease id, cap, lease milliseconds.
# Renewing one's own lease always works while it has not expired; a new one only below the cap.
_TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    return 0
end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""


def stream_leases_key(user_id: int) -> str:
    return f"{settings.INBOX_PUBSUB_PREFIX}inbox-streams:{user_id}"


def stream_lease_seconds() -> float:
    # Longer than two heartbeats, so one late heartbeat never loses a live stream's slot.
    return max(settings.INBOX_STREAM_LEASE_SECONDS, 2 * settings.INBOX_STREAM_KEEPALIVE_SECONDS + 1)


def stream_retry_after_seconds() -> int:
    """When a person at the cap may try again: by then a vanished stream's slot is free."""
    return math.ceil(stream_lease_seconds())


class StreamLease:
    def __init__(self, user_id: int):
        self.key = stream_leases_key(user_id)
        self.lease_id = uuid.uuid4().hex
        self.client = live_async_client()

    async def take(self) -> bool:
        """Take (or renew) this stream's slot; False when the person is at the cap, or
        when this lease expired meanwhile and the cap is full. Raises redis.RedisError."""
        taken = await self.client.eval(
            _TAKE,
            1,
            self.key,
            self.lease_id,
            settings.INBOX_STREAMS_PER_PERSON,
            int(stream_lease_seconds() * 1000),
        )
        return bool(taken)

    async def release(self) -> None:
        await self.client.zrem(self.key, self.lease_id)
