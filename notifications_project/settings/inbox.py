"""The web inbox: Django session sign-in, then /inbox/, and its live stream."""

from urllib.parse import urlparse

from .environment import env
from .redis import REDIS_URL

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/inbox/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Live stream (/api/v1/inbox/stream/): each open stream holds a web thread; it sends a
# comment every KEEPALIVE seconds and closes after MAX seconds (the browser reconnects).
INBOX_STREAM_KEEPALIVE_SECONDS = env.float("INBOX_STREAM_KEEPALIVE_SECONDS", default=15)
INBOX_STREAM_MAX_SECONDS = env.float("INBOX_STREAM_MAX_SECONDS", default=300)
INBOX_STREAM_RETRY_MS = env.int("INBOX_STREAM_RETRY_MS", default=3000)
# Pub/sub channels ignore Redis's database number: the prefix keeps deployments apart.
INBOX_PUBSUB_PREFIX = env("INBOX_PUBSUB_PREFIX", default="") or (
    f"notifications:{urlparse(REDIS_URL).path.strip('/') or '0'}:"
)
