"""Logs and metrics."""

from pathlib import Path

from .environment import env

# One JSON object per line (LOG_FORMAT=plain for a human-readable console), each with
# the correlation id of the request or task it was written for.
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation_id": {"()": "apps.ops.logs.CorrelationIdFilter"}},
    "formatters": {
        "json": {"()": "apps.ops.logs.ServiceJsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain" if LOG_FORMAT == "plain" else "json",
            "filters": ["correlation_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

# Prometheus multiprocess mode: every web and worker process writes its figures here
# and /metrics adds them up. Empty: each process reports only itself. The directory
# must be emptied when the whole service (re)starts (`make run` and compose do).
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
