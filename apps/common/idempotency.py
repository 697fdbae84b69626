"""`Idempotency-Key` for endpoints that create.

The first successful answer to a key is kept (IDEMPOTENCY_TTL_SECONDS, 24 h) per caller
(API key or person) in PostgreSQL, in a row written in the same transaction as the
request's own writes (`IdempotencyRecord`): a crash after the commit leaves the answer,
a crash before it leaves nothing, and Redis plays no part. (A copy in Redis would save
one indexed read per replay, next to the queries every request makes anyway, and could
disagree with the database after a restore; so there is none.)

- the same key with the same body replays it, with `Idempotency-Replay: true`;
- the same key with another body answers 422;
- the same key while the first request is still running answers 409.

The claim on a key is a transaction-level advisory lock taken without waiting
(`pg_try_advisory_xact_lock`), so of two requests racing with one key exactly one runs;
PostgreSQL releases it at the commit or rollback, or when a crashed process's
connection goes. A request that fails (4xx, 5xx, an exception) records nothing, so the
client can retry with a corrected body. Old records are deleted by the retention job.
"""

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from .auth import ServicePrincipal
from .errors import Conflict
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotency-Replay"
KEY_MAX_LENGTH = 255


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


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def advisory_lock_id(caller: str, digest: str) -> int:
    """The 64-bit advisory lock of one caller's key."""
    return int.from_bytes(hashlib.sha256(f"{caller}:{digest}".encode()).digest()[:8], "big", signed=True)


def _claim(caller: str, digest: str) -> bool:
    """Hold the key until this transaction ends; False if another request holds it."""
    if connection.vendor != "postgresql":
        return True  # elsewhere the unique constraint alone refuses the second
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [advisory_lock_id(caller, digest)])
        return cursor.fetchone()[0]


def _answer_again(answer: dict, fingerprint: str) -> Response:
    if answer["fingerprint"] != fingerprint:
        raise IdempotencyKeyReused()
    response = Response(answer["body"], status=answer["status"])
    response[REPLAY_HEADER] = "true"
    return response


def _recorded(caller: str, digest: str) -> dict | None:
    oldest = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_TTL_SECONDS)
    record = IdempotencyRecord.objects.filter(caller=caller, key_digest=digest, created_at__gte=oldest).first()
    if record is None:
        return None
    return {"fingerprint": record.fingerprint, "status": record.status_code, "body": record.body}


def idempotent(handler):
    """Decorate an APIView handler (`post`) that creates."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > KEY_MAX_LENGTH:
            raise serializers.ValidationError({HEADER: [f"At most {KEY_MAX_LENGTH} characters."]})
        caller, digest, fingerprint = _caller(request), _key_digest(key), _fingerprint(request)
        with transaction.atomic():
            if not _claim(caller, digest):
                raise IdempotencyKeyInFlight()
            if (answer := _recorded(caller, digest)) is not None:
                return _answer_again(answer, fingerprint)
            response = handler(view, request, *args, **kwargs)
            if not 200 <= response.status_code < 300:
                return response
            # An expired record the retention job has not deleted yet gives way.
            IdempotencyRecord.objects.filter(caller=caller, key_digest=digest).delete()
            try:
                with transaction.atomic():
                    IdempotencyRecord.objects.create(
                        caller=caller,
                        key_digest=digest,
                        fingerprint=fingerprint,
                        status_code=response.status_code,
                        body=response.data,
                    )
            except IntegrityError as exc:  # only without advisory locks: the other one won
                raise IdempotencyKeyInFlight() from exc
        return response

    return wrapper
