"""Status webhooks: how the relay tells services what became of their sends and events."""

from .environment import env

# How often beat looks for status webhook endpoints that are due.
STATUS_WEBHOOK_RELAY_INTERVAL_SECONDS = env.int("STATUS_WEBHOOK_RELAY_INTERVAL_SECONDS", default=5)
# Changes younger than this are left for the next run: a transaction that took its
# history ids earlier may still be committing, and the cursor must not pass it.
STATUS_WEBHOOK_SETTLE_SECONDS = env.float("STATUS_WEBHOOK_SETTLE_SECONDS", default=2.0)
# Backoff after a failed batch: doubling from the first, up to the cap, jittered.
STATUS_WEBHOOK_BACKOFF_SECONDS = env.float("STATUS_WEBHOOK_BACKOFF_SECONDS", default=10.0)
STATUS_WEBHOOK_BACKOFF_MAX_SECONDS = env.float("STATUS_WEBHOOK_BACKOFF_MAX_SECONDS", default=3600.0)
# Batches one run posts to one endpoint before it gives the worker back to the others.
STATUS_WEBHOOK_BATCHES_PER_RUN = env.int("STATUS_WEBHOOK_BATCHES_PER_RUN", default=20)
