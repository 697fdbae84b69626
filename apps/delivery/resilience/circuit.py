"""Per-provider circuit breakers with their state in Redis, shared by all workers.

closed:    calls go through; each failure adds to a count of consecutive failures, any
           success resets it. N consecutive failures open the circuit.
open:      no calls until the cool-down has passed.
half-open: after the cool-down one worker wins a short probe lease and sends; its
           success closes the circuit, its failure opens it again for a new cool-down.
"""

from dataclasses import dataclass

from django.conf import settings

from apps.common.redis_clients import redis_client

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

# KEYS: failures, opened_until, probe. ARGV: threshold, cool-down seconds. Returns the
# new failure count; opens the circuit when the threshold is reached, and frees the probe
# lease in the same step, so no worker can take it for the circuit just reopened.
RECORD_FAILURE = """
local failures = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 86400)
if failures >= tonumber(ARGV[1]) then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
  redis.call('SET', KEYS[2], tostring(now + tonumber(ARGV[2])), 'EX', 86400)
end
redis.call('DEL', KEYS[3])
return failures
"""

# KEYS: opened_until, probe. ARGV: probe lease seconds. Returns {allowed, state, wait}:
# reading the state and taking the probe lease in one step, so a worker that saw the
# cool-down pass cannot take the lease after a failed probe has reopened the circuit.
ALLOW = """
local opened_until = redis.call('GET', KEYS[1])
if not opened_until then
  return {1, 'closed', '0'}
end
local clock = redis.call('TIME')
local wait = tonumber(opened_until) - (tonumber(clock[1]) + tonumber(clock[2]) / 1000000)
if wait > 0 then
  return {0, 'open', tostring(wait)}
end
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[1])) then
  return {1, 'half_open', '0'}
end
return {0, 'half_open', '-1'}
"""


@dataclass(frozen=True)
class Permit:
    allowed: bool
    state: str
    # When not allowed: seconds until a probe may be tried.
    retry_after: float = 0.0


class CircuitBreaker:
    def __init__(self, name: str, threshold: int, cooldown: float, client=None):
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self.client = client or redis_client("circuits")
        prefix = f"resilience:circuit:{name}"
        self.failures_key = f"{prefix}:failures"
        self.opened_until_key = f"{prefix}:opened_until"
        self.probe_key = f"{prefix}:probe"
        self._record_failure = self.client.register_script(RECORD_FAILURE)
        self._allow = self.client.register_script(ALLOW)

    def _now(self) -> float:
        seconds, micros = self.client.time()
        return seconds + micros / 1_000_000

    def state(self) -> str:
        opened_until = self.client.get(self.opened_until_key)
        if opened_until is None:
            return CLOSED
        return OPEN if float(opened_until) > self._now() else HALF_OPEN

    def failures(self) -> int:
        """Consecutive failed calls counted so far (reset by any success)."""
        return int(self.client.get(self.failures_key) or 0)

    def allow(self) -> Permit:
        """May a call go to the provider now? In half-open state only the worker that
        takes the probe lease may."""
        # The lease outlives a slow probe but not a crashed one.
        allowed, state, wait = self._allow(
            keys=[self.opened_until_key, self.probe_key], args=[max(1, int(self.cooldown))]
        )
        state, wait = state.decode(), float(wait)
        if state == HALF_OPEN and not allowed:
            wait = max(1.0, self.cooldown / 4)  # another worker's probe is out
        return Permit(bool(allowed), state, wait)

    def record_success(self) -> None:
        self.client.delete(self.failures_key, self.opened_until_key, self.probe_key)

    def record_failure(self) -> int:
        keys = [self.failures_key, self.opened_until_key, self.probe_key]
        return int(self._record_failure(keys=keys, args=[self.threshold, self.cooldown]))

    def reset(self) -> None:
        self.record_success()


def provider_circuit(provider: str) -> CircuitBreaker:
    return CircuitBreaker(provider, settings.CIRCUIT_FAILURE_THRESHOLD, settings.CIRCUIT_COOLDOWN_SECONDS)
