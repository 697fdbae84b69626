"""Request throttling per API key and per person, counted in Redis so every web
process shares one budget.

A fixed window counter (INCR + EXPIRE in one round trip per request) rather than DRF's
sliding history: the history list is re-read and re-written whole in the cache on every
request, which at hundreds of requests a second costs more than the request itself.
"""

import logging
import time

import redis
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .auth import ServicePrincipal
from .redis_clients import redis_client

logger = logging.getLogger(__name__)


class _WindowThrottle(SimpleRateThrottle):
    def get_rate(self):
        # Read at each request (not at import), so settings changes apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def identity(self, request) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request, view):
        ident = self.identity(request)
        return None if ident is None else f"throttle:{self.scope}:{ident}"

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        self.wait_seconds = self.duration - (now - window * self.duration)
        # One round trip: count this request and let the window's key expire with it.
        pipe = redis_client("throttling").pipeline(transaction=False)
        pipe.incr(f"{key}:{window}")
        pipe.expire(f"{key}:{window}", int(self.duration) + 1)
        try:
            count, _ = pipe.execute()
        except (redis.RedisError, ValueError):
            # Fail open: an unreachable counter must not take the whole API down with it.
            # ValueError too: redis-py has been seen to fail a new connection's handshake
            # with "I/O operation on closed file" when request threads come and go fast
            # (`make run`'s uvicorn under 30 clients), a client-side failure all the same.
            logger.warning("throttle counter unavailable; request allowed", exc_info=True)
            return True
        return count <= self.num_requests

    def wait(self):
        return max(1, int(round(self.wait_seconds)))


class ApiKeyThrottle(_WindowThrottle):
    scope = "api_key"

    def identity(self, request):
        user = request.user
        return f"{user.api_key.pk}" if isinstance(user, ServicePrincipal) else None


class PersonThrottle(_WindowThrottle):
    scope = "person"

    def identity(self, request):
        user = request.user
        if isinstance(user, ServicePrincipal) or not (user and user.is_authenticated):
            return None
        return f"{user.pk}"
