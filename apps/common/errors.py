"""The error envelope: every 4xx/5xx body is {"error": {"code", "message", "details"}}."""

import logging
import sys

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "throttled",
    500: "server_error",
    503: "unavailable",
}


def error_body(status_code, message, *, code=None, details=None):
    return {
        "error": {
            "code": code or _CODES.get(status_code, "error"),
            "message": message,
            "details": details or {},
        }
    }


def error_response(status_code, message, *, code=None, details=None):
    return JsonResponse(error_body(status_code, message, code=code, details=details), status=status_code)


class DatabaseUnavailable(exceptions.APIException):
    """PostgreSQL refused or lost the connection (too many clients, a restart, a
    failover, the pool's wait ran out): the request's transaction was rolled back, so
    the client may send it again after Retry-After."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; nothing was saved. Retry after the given delay."
    default_code = "database_unavailable"


# What the driver raises when it cannot reach or keep the server (psycopg's pool
# timeout included); other database errors are the service's bugs, answered 500.
DATABASE_OUTAGES = (OperationalError, InterfaceError)


def _database_unavailable_details() -> dict:
    return {"retry_after": settings.DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS}


def database_unavailable_response() -> JsonResponse:
    details = _database_unavailable_details()
    response = error_response(
        503, DatabaseUnavailable.default_detail, code=DatabaseUnavailable.default_code, details=details
    )
    response["Retry-After"] = str(details["retry_after"])
    return response


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def _message_and_details(exc, data):
    if isinstance(exc, exceptions.ValidationError):
        details = data if isinstance(data, dict) else {"non_field_errors": data}
        return "Invalid input.", details
    if isinstance(data, dict) and "detail" in data:
        return str(data["detail"]), {}
    return str(data), {}


def _error_code(exc) -> str | None:
    """invalid_input for bad fields, parse_error for a body that is not JSON, the
    project's own exceptions' codes (idempotency_key_reused, ...); else None: the
    status's code."""
    if isinstance(exc, exceptions.ValidationError):
        return "invalid_input"
    if isinstance(exc, exceptions.ParseError):
        return "parse_error"
    if isinstance(exc, exceptions.APIException) and not type(exc).__module__.startswith("rest_framework"):
        return exc.default_code
    return None


def envelope_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = exceptions.APIException("Request body too large.")
        exc.status_code = 413
    # Services validate too (models, limits): same 400 as a serializer's.
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    # A value the database cannot hold (a number past a column's range): the caller's
    # input, so a 400 like any other invalid value; the statement changed nothing.
    if isinstance(exc, DataError):
        exc = exceptions.ValidationError({"non_field_errors": ["A value is out of the range the service stores."]})
    # A selector's .get() for something that is not the caller's: 404, like any other miss.
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DATABASE_OUTAGES):
        logger.warning("database unavailable: %s", exc)
        exc = DatabaseUnavailable()

    response = exception_handler(exc, context)
    if response is None:
        return None
    message, details = _message_and_details(exc, response.data)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details = {"retry_after": int(response["Retry-After"])}
    if isinstance(exc, DatabaseUnavailable):
        details = _database_unavailable_details()
        response["Retry-After"] = str(details["retry_after"])
    response.data = error_body(response.status_code, message, code=_error_code(exc), details=details)
    return response


# Plain Django views (outside DRF) answer JSON in the same envelope.
def handler400(request, exception=None):
    return error_response(400, "Bad request.")


def handler403(request, exception=None):
    return error_response(403, "Permission denied.")


def handler404(request, exception=None):
    return error_response(404, "Not found.")


def handler500(request):
    # Called while the exception is handled: one raised outside REST framework's views
    # (a middleware's query, a plain view) by a database outage is a 503 too.
    if isinstance(sys.exc_info()[1], DATABASE_OUTAGES):
        return database_unavailable_response()
    return error_response(500, "Internal server error.")
