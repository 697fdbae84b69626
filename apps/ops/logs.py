"""Structured logs: one JSON object per line, each carrying the correlation id."""

import logging

from pythonjsonlogger.json import JsonFormatter

from .correlation import correlation_id_get


class CorrelationIdFilter(logging.Filter):
    """Adds `correlation_id` to every record (None outside a request or task)."""

    def filter(self, record):
        if not hasattr(record, "correlation_id"):
            # django.request logs after the middleware is done; its record names the request.
            request = getattr(record, "request", None)
            record.correlation_id = correlation_id_get() or getattr(request, "correlation_id", None)
        return True


class ServiceJsonFormatter(JsonFormatter):
    """JSON lines with stable key names: time, level, logger, message, correlation_id."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", False)
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s", *args, **kwargs)
