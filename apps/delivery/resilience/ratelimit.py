"""Per-provider token buckets in Redis, shared by all workers.

One Lua script refills and takes tokens atomically with Redis's own clock, so workers
on different hosts agree on time and never over-spend the provider's allowance.
"""

from dataclasses import dataclass

from django.conf import settings

from apps.common.redis_clients import redis_client

# KEYS[1] bucket; ARGV: rate per second, capacity, tokens wanted.
# Returns {granted, seconds until the rest would be available (string)}.
TAKE_TOKENS = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
local wait = 0
if granted < wanted then
  wait = (math.min(wanted - granted, capacity) - tokens) / rate
end
return {granted, tostring(wait)}
"""


@dataclass(frozen=True)
class Grant:
    granted: int
    # Seconds until the tokens not granted would be there.
    retry_after: float


class TokenBucket:
    def __init__(self, name: str, rate: float, capacity: float | None = None, client=None):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.key = f"resilience:bucket:{name}"
        self.rate = float(rate)
        self.capacity = max(1.0, float(capacity if capacity is not None else rate))
        self.client = client or redis_client("rate_limits")
        self._script = self.client.register_script(TAKE_TOKENS)

    def available(self) -> float:
        """Tokens there now, taking none: the same refill as TAKE_TOKENS, read without
        writing, so looking (the delivery dashboard) never spends the allowance."""
        pipe = self.client.pipeline(transaction=False)
        pipe.time()
        pipe.hmget(self.key, "tokens", "at")
        (seconds, micros), (tokens, at) = pipe.execute()
        now = seconds + micros / 1_000_000
        if tokens is None:
            return self.capacity
        return min(self.capacity, float(tokens) + max(0.0, now - float(at or now)) * self.rate)

    def take(self, wanted: int) -> Grant:
        granted, wait = self._script(keys=[self.key], args=[self.rate, self.capacity, wanted])
        return Grant(int(granted), float(wait))


def provider_bucket(provider: str) -> TokenBucket | None:
    """The bucket of a provider, or None when it has no limit configured."""
    rate = settings.PROVIDER_RATE_LIMITS.get(provider)
    if not rate:
        return None
    return TokenBucket(provider, rate, rate * settings.PROVIDER_RATE_LIMIT_BURST_SECONDS)


def provider_take(provider: str, wanted: int) -> Grant:
    bucket = provider_bucket(provider)
    return bucket.take(wanted) if bucket else Grant(wanted, 0.0)
