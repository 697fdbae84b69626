"""`Idempotency-Key` for endpoints that create.

The first successful answer to a key is kept (IDEMPOTENCY_TTL_SECONDS, 24 h) in the
shared cache (Redis), per caller (API key or person):

- the same key with the same body replays it, with `Idempotency-Replay: true`;
- the same key with another body answers 422;
- the same key while the first request is still running answers 409.

The claim on a key is one atomic `SET NX`, so of two requests racing with one key exactly
one runs. A request that fails (4xx, 5xx, an exception) gives its key back, so the client
can retry with a corrected body. A crashed process leaves its claim for at most
IDEMPOTENCY_LOCK_SECONDS.
"""

import functools
import hashlib
import json

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from .auth import ServicePrincipal
from .errors import Conflict

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotency-Replay"
KEY_MAX_LENGTH = 255
IN_FLIGHT = "in_flight"
DONE = "done"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was used with another request body."
    default_code = "idempotency_key_reused"


class IdempotencyKeyInFlight(Conflict):
    default_detail = "A request with this Idempotency-Key is still being processed; retry later."
    default_code = "idempotency_key_in_flight"


def _caller(request) -> str:
    user = request.user
    if isinstance(user, ServicePrincipal):
        return f"key:{user.api_key.pk}"
    return f"user:{user.pk}"


def _fingerprint(request) -> str:
    try:
        canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        canonical = repr(request.data)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _record_key(request, key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"idempotency:{_caller(request)}:{digest}"


def _replay(record: dict) -> Response:
    response = Response(record["body"], status=record["status"])
    response[REPLAY_HEADER] = "true"
    return response


def idempotent(handler):
    """Decorate an APIView handler (`post`) that creates."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > KEY_MAX_LENGTH:
            raise serializers.ValidationError({HEADER: [f"At most {KEY_MAX_LENGTH} characters."]})
        record_key = _record_key(request, key)
        fingerprint = _fingerprint(request)
        claim = {"state": IN_FLIGHT, "fingerprint": fingerprint}
        if not cache.add(record_key, claim, timeout=settings.IDEMPOTENCY_LOCK_SECONDS):
            record = cache.get(record_key)
            if record is None:  # expired in between: treat as a conflict, the client retries
                raise IdempotencyKeyInFlight()
            if record["fingerprint"] != fingerprint:
                raise IdempotencyKeyReused()
            if record["state"] == IN_FLIGHT:
                raise IdempotencyKeyInFlight()
            return _replay(record)
        try:
            response = handler(view, request, *args, **kwargs)
        except BaseException:
            cache.delete(record_key)
            raise
        if 200 <= response.status_code < 300:
            record = {"state": DONE, "fingerprint": fingerprint, "status": response.status_code, "body": response.data}
            cache.set(record_key, record, timeout=settings.IDEMPOTENCY_TTL_SECONDS)
        else:
            cache.delete(record_key)
        return response

    return wrapper
