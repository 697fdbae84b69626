"""Delivery dispatch: attempts, backoff between them, and when the sweeper takes a
delivery for lost."""

from .celery import CELERY_TASK_TIME_LIMIT
from .environment import env

DELIVERY_MAX_ATTEMPTS_DEFAULT = env.int("DELIVERY_MAX_ATTEMPTS", default=5)
# Per channel, e.g. DELIVERY_MAX_ATTEMPTS_BY_CHANNEL=email=8,sms=4
DELIVERY_MAX_ATTEMPTS = {k: int(v) for k, v in env.dict("DELIVERY_MAX_ATTEMPTS_BY_CHANNEL", default={}).items()}
DELIVERY_RETRY_BACKOFF_SECONDS = env.float("DELIVERY_RETRY_BACKOFF_SECONDS", default=2)
DELIVERY_RETRY_BACKOFF_MAX_SECONDS = env.float("DELIVERY_RETRY_BACKOFF_MAX_SECONDS", default=600)

# A delivery in `sending` for longer than any task may run was left by a dead worker.
DELIVERY_STUCK_SENDING_SECONDS = env.int("DELIVERY_STUCK_SENDING_SECONDS", default=CELERY_TASK_TIME_LIMIT + 60)
# A pending delivery untouched for longer than the longest retry backoff lost its message.
DELIVERY_STALE_PENDING_SECONDS = env.int(
    "DELIVERY_STALE_PENDING_SECONDS", default=DELIVERY_RETRY_BACKOFF_MAX_SECONDS + 300
)
DELIVERY_SWEEP_INTERVAL_SECONDS = env.int("DELIVERY_SWEEP_INTERVAL_SECONDS", default=60)
# Stale pending deliveries one sweep re-enqueues at most (in batches of 5,000).
DELIVERY_SWEEP_MAX_PENDING = env.int("DELIVERY_SWEEP_MAX_PENDING", default=50_000)
# What a crash may cost: a sender waits for its acceptances to be recorded once it has
# this many unrecorded, so a killed process resends at most this many per connection.
DELIVERY_ACCEPTANCE_WINDOW = env.int("DELIVERY_ACCEPTANCE_WINDOW", default=1)
