"""Load shedding: under overload a web process answers 503 with Retry-After at once
rather than serving every request seconds late.

Two bounds, both per process:

- queue wait: how long the request waited in the server before it reached Django (the
  server's stamp, see queued_at.py). Past LOAD_SHED_QUEUE_BUDGET_MS the caller would
  get its answer too late to be of use, and serving it would only make the requests
  behind it late too; a quick 503 drains the queue instead.
- requests in flight: more than LOAD_SHED_MAX_IN_FLIGHT running at once (a threaded
  process) share the interpreter and all slow down together.

A shed request has done nothing (no query, no write), so the client may send it again.
"""

import threading
import time

from django.conf import settings
from prometheus_client import Counter

from .errors import error_response
from .queued_at import queued_at

SHED = Counter("notifications_requests_shed_total", "Requests answered 503 by the load shedder.", ["reason"])
OVERLOADED_MESSAGE = "The service is overloaded; nothing was done. Retry after the given delay."


class _InFlight:
    """Requests this process is running now."""

    def __init__(self):
        self._lock = threading.Lock()
        self.count = 0

    def enter(self, limit: int) -> bool:
        with self._lock:
            if limit and self.count >= limit:
                return False
            self.count += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.count -= 1


IN_FLIGHT = _InFlight()


def overloaded_response(reason: str):
    SHED.labels(reason).inc()
    retry_after = settings.LOAD_SHED_RETRY_AFTER_SECONDS
    response = error_response(503, OVERLOADED_MESSAGE, code="overloaded", details={"retry_after": retry_after})
    response["Retry-After"] = str(retry_after)
    return response


class LoadSheddingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(tuple(settings.LOAD_SHED_EXEMPT_PATHS)):
            return self.get_response(request)
        budget_ms = settings.LOAD_SHED_QUEUE_BUDGET_MS
        since = queued_at(request)
        if budget_ms and since is not None and (time.monotonic() - since) * 1000 > budget_ms:
            return overloaded_response("queue_wait")
        if not IN_FLIGHT.enter(settings.LOAD_SHED_MAX_IN_FLIGHT):
            return overloaded_response("in_flight")
        try:
            return self.get_response(request)
        finally:
            IN_FLIGHT.leave()
