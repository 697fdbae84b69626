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
from django.http import JsonResponse
from prometheus_client import Counter

from .errors import error_body
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


def is_exempt(path: str) -> bool:
    return path.startswith(tuple(settings.LOAD_SHED_EXEMPT_PATHS))


def waited_too_long(since: float | None) -> bool:
    """Whether a request queued at `since` (time.monotonic()) has waited past the budget."""
    budget_ms = settings.LOAD_SHED_QUEUE_BUDGET_MS
    return bool(budget_ms) and since is not None and (time.monotonic() - since) * 1000 > budget_ms


def overloaded(reason: str) -> tuple[dict, int]:
    """The 503's body (the error envelope) and its Retry-After; counts the shed request."""
    SHED.labels(reason).inc()
    retry_after = settings.LOAD_SHED_RETRY_AFTER_SECONDS
    return error_body(503, OVERLOADED_MESSAGE, code="overloaded", details={"retry_after": retry_after}), retry_after


def overloaded_response(reason: str) -> JsonResponse:
    body, retry_after = overloaded(reason)
    response = JsonResponse(body, status=503)
    response["Retry-After"] = str(retry_after)
    return response


class LoadSheddingMiddleware:
    """Both bounds for any server that stamps the queue time; gunicorn's worker sheds a
    request past its budget before Django already (notifications_project/gunicorn_worker.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_exempt(request.path):
            return self.get_response(request)
        if waited_too_long(queued_at(request)):
            return overloaded_response("queue_wait")
        if not IN_FLIGHT.enter(settings.LOAD_SHED_MAX_IN_FLIGHT):
            return overloaded_response("in_flight")
        try:
            return self.get_response(request)
        finally:
            IN_FLIGHT.leave()
