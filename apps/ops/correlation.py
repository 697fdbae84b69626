"""The correlation id: one id per request, carried into every task it causes, onto the
events it publishes and into every log line written on its behalf.

It lives in a contextvar, so each request thread (and each task) sees its own.
"""

import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
# What a client may send: short and printable, so it is safe in logs and headers.
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def correlation_id_get() -> str | None:
    return _current.get()


def correlation_id_new() -> str:
    return uuid.uuid4().hex


def correlation_id_clean(value) -> str | None:
    """The value when it is an acceptable id, else None (a new one is made instead)."""
    if isinstance(value, str) and _VALID.match(value):
        return value
    return None


def correlation_id_set(value: str | None):
    """Set the current id; returns the token to restore the previous one."""
    return _current.set(value)


def correlation_id_reset(token) -> None:
    _current.reset(token)


class CorrelationIdMiddleware:
    """Take the id from `X-Request-ID` (or make one) and echo it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        correlation_id = correlation_id_clean(request.headers.get(HEADER)) or correlation_id_new()
        request.correlation_id = correlation_id
        token = correlation_id_set(correlation_id)
        try:
            response = self.get_response(request)
        finally:
            correlation_id_reset(token)
        response[HEADER] = correlation_id
        return response
