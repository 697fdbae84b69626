"""What an event or a send becomes: the fan-out, its outbox relay, the locale of its
texts and the channels quiet hours hold."""

from .environment import env

FANOUT_CHUNK_SIZE = env.int("FANOUT_CHUNK_SIZE", default=50_000)
# A batch's templates list its newest this many events (and as many actors).
BATCH_ITEMS_MAX = env.int("BATCH_ITEMS_MAX", default=20)
# An event reaching at least this many subscriptions (0: never) is split into user id
# ranges of about FANOUT_RANGE_SIZE that any number of workers fan out at once; a
# smaller one is one task (its planning would cost more than it saves). Ranges are
# smaller than chunks so that two worker processes share even a 100,000-person event.
FANOUT_RANGES_FROM = env.int("FANOUT_RANGES_FROM", default=50_000)
FANOUT_RANGE_SIZE = env.int("FANOUT_RANGE_SIZE", default=25_000)
# An event whose fan-out made no progress for this long is re-driven by the relay.
OUTBOX_RELAY_GRACE_SECONDS = env.int("OUTBOX_RELAY_GRACE_SECONDS", default=60)
OUTBOX_RELAY_INTERVAL_SECONDS = env.int("OUTBOX_RELAY_INTERVAL_SECONDS", default=30)
# Events one relay run re-drives; an event relayed again waits the grace period doubled
# per relay, up to the cap, behind every event not yet relayed.
OUTBOX_RELAY_BATCH_SIZE = env.int("OUTBOX_RELAY_BATCH_SIZE", default=500)
OUTBOX_RELAY_BACKOFF_MAX_SECONDS = env.int("OUTBOX_RELAY_BACKOFF_MAX_SECONDS", default=900)

# Templates fall back from the person's locale to its language, then to this.
# One render of an operator's stored template: wall-clock seconds and characters of
# output (and of any value it builds on the way); over either, the default template is used.
TEMPLATE_RENDER_MAX_SECONDS = env.float("TEMPLATE_RENDER_MAX_SECONDS", default=1.0)
TEMPLATE_OUTPUT_MAX_CHARS = env.int("TEMPLATE_OUTPUT_MAX_CHARS", default=256 * 1024)
NOTIFICATION_DEFAULT_LOCALE = env("NOTIFICATION_DEFAULT_LOCALE", default="en")
# Throttles for every event type, per person and channel: "email=20/3600" is at most
# 20 emails an hour each; the rest are held for the next window (event types may add
# their own limit: EventType.throttle_limit). Empty: none.
THROTTLE_LIMITS = env.list("THROTTLE_LIMITS", default=[])
# Channels held during quiet hours (in-app is never held).
QUIET_HOURS_CHANNELS = env.list("QUIET_HOURS_CHANNELS", default=["email", "sms", "push"])
