"""Gunicorn settings (read from the working directory by default): the API and pages.

Live inbox streams are not served here but by the ASGI stream process (uvicorn; see
docs/operations.md); one sent here answers 503 at once. Capacity = WEB_CONCURRENCY ×
GUNICORN_THREADS concurrent requests.
"""

import os

# Loopback unless told otherwise (WEB_BIND_ADDRESS=0.0.0.0 in a container behind its proxy).
bind = f"{os.environ.get('WEB_BIND_ADDRESS', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gthread, noting how long each request queued (the load shedder's budget).
worker_class = "notifications_project.gunicorn_worker.QueueTimedThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
accesslog = "-"
# The request id the web echoed (X-Request-ID), so access lines join the app's log lines.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'

if os.environ.get("LOG_FORMAT", "json") != "plain":
    # Gunicorn's own and access lines as JSON, like the rest of the service's logs.
    _console = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "filters": ["correlation_id"],
        "stream": "ext://sys.stdout",
    }
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"correlation_id": {"()": "apps.ops.logs.CorrelationIdFilter"}},
        "formatters": {"json": {"()": "apps.ops.logs.ServiceJsonFormatter"}},
        "handlers": {"console": _console},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }


def child_exit(server, worker):
    # Multiprocess metrics: let gauges of a dead worker go (counters keep their totals).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
