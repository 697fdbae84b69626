"""Logs, metrics and the alerts to operators."""

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

# --- Operator alerts (apps/ops/alerts, docs/operations.md "Alerts") -------------------
# Beat evaluates the conditions this often; each condition's incident is announced once
# when it opens and once when it clears.
ALERT_EVALUATE_INTERVAL_SECONDS = env.int("ALERT_EVALUATE_INTERVAL_SECONDS", default=60)
# No two messages about one condition closer than this: a condition that clears and
# comes back within it is announced when the cool-down has passed, if it still holds.
ALERT_COOLDOWN_SECONDS = env.int("ALERT_COOLDOWN_SECONDS", default=900)
# An incident still open is announced again this often (0: never).
ALERT_REMINDER_SECONDS = env.int("ALERT_REMINDER_SECONDS", default=4 * 3600)
# The conditions; a threshold of 0 turns its condition off.
ALERT_DEAD_DELIVERIES_THRESHOLD = env.int("ALERT_DEAD_DELIVERIES_THRESHOLD", default=10)
ALERT_DEAD_DELIVERIES_WINDOW_SECONDS = env.int("ALERT_DEAD_DELIVERIES_WINDOW_SECONDS", default=900)
ALERT_PENDING_AGE_SECONDS = env.int("ALERT_PENDING_AGE_SECONDS", default=900)
ALERT_QUEUE_AGE_SECONDS = env.int("ALERT_QUEUE_AGE_SECONDS", default=300)
ALERT_CIRCUIT_OPEN = env.bool("ALERT_CIRCUIT_OPEN", default=True)
# A beat job is late when its last success is older than this many of its intervals
# plus the grace (a slow run, a beat restart).
ALERT_PERIODIC_LATE_FACTOR = env.float("ALERT_PERIODIC_LATE_FACTOR", default=3.0)
ALERT_PERIODIC_GRACE_SECONDS = env.int("ALERT_PERIODIC_GRACE_SECONDS", default=120)
# Destinations, any number of them; none set: alerts are only logged. They are reached
# directly, never through the delivery queues, so an alert about a failing channel does
# not wait behind that channel's own work.
ALERT_EMAIL_TO = env.list("ALERT_EMAIL_TO", default=[])
# The SMTP server for alert email (a django-environ email URL). Empty: EMAIL_URL's,
# which is skipped while the smtp provider's circuit is open if another destination is set.
ALERT_EMAIL_URL = env("ALERT_EMAIL_URL", default="")
ALERT_EMAIL_FROM = env("ALERT_EMAIL_FROM", default="")
ALERT_SLACK_CHANNEL = env("ALERT_SLACK_CHANNEL", default="")
# Empty: the `slack` channel's SLACK_BOT_TOKEN.
ALERT_SLACK_BOT_TOKEN = env("ALERT_SLACK_BOT_TOKEN", default="")
ALERT_WEBHOOK_URL = env("ALERT_WEBHOOK_URL", default="")
# Signs each alert POST like the webhook channel does (webhook-id, -timestamp, -signature).
ALERT_WEBHOOK_SECRET = env("ALERT_WEBHOOK_SECRET", default="")
ALERT_SEND_TIMEOUT_SECONDS = env.float("ALERT_SEND_TIMEOUT_SECONDS", default=10.0)
