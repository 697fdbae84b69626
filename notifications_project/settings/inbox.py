"""The web inbox: Django session sign-in, then /inbox/, and its live stream."""

from urllib.parse import urlparse

from .environment import env
from .redis import REDIS_URL

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/inbox/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Live stream (/api/v1/inbox/stream/, on the ASGI stream process): it sends a comment
# every KEEPALIVE seconds and closes after MAX seconds (the browser reconnects).
INBOX_STREAM_KEEPALIVE_SECONDS = env.float("INBOX_STREAM_KEEPALIVE_SECONDS", default=15)
INBOX_STREAM_MAX_SECONDS = env.float("INBOX_STREAM_MAX_SECONDS", default=300)
INBOX_STREAM_RETRY_MS = env.int("INBOX_STREAM_RETRY_MS", default=3000)
# Pub/sub channels ignore Redis's database number: the prefix keeps deployments apart.
INBOX_PUBSUB_PREFIX = env("INBOX_PUBSUB_PREFIX", default="") or (
    f"notifications:{urlparse(REDIS_URL).path.strip('/') or '0'}:"
)
# Open streams one person may hold at once, over every stream process; one more answers 429.
INBOX_STREAMS_PER_PERSON = env.int("INBOX_STREAMS_PER_PERSON", default=5)
# A stream's slot expires this long after its last heartbeat, so a stream process that
# dies frees its people's slots by itself (at least two heartbeats long).
INBOX_STREAM_LEASE_SECONDS = env.float("INBOX_STREAM_LEASE_SECONDS", default=3 * INBOX_STREAM_KEEPALIVE_SECONDS)
