"""The HTTP API: REST framework, the OpenAPI schema, request limits, throttling and
idempotency."""

from .environment import env

# Bodies larger than this answer 413 before any parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=256 * 1024)
EVENT_DATA_MAX_BYTES = env.int("EVENT_DATA_MAX_BYTES", default=64 * 1024)
# How deep an event's `data` may nest (a flat object is 1).
EVENT_DATA_MAX_DEPTH = env.int("EVENT_DATA_MAX_DEPTH", default=10)
# Request bodies: JSON nested deeper than this is refused with 400 (apps/common/parsers.py).
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=64)

# Links in messages and callback URLs.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.common.auth.ApiKeyAuthentication",
        "apps.accounts.auth.PersonTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["apps.common.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "apps.common.schema.AutoSchema",
    "EXCEPTION_HANDLER": "apps.common.errors.envelope_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Counted in Redis (apps/common/throttling.py), so every web process shares one budget.
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.common.throttling.ApiKeyThrottle",
        "apps.common.throttling.PersonThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env("API_KEY_THROTTLE_RATE", default="6000/min"),
        "person": env("PERSON_THROTTLE_RATE", default="600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Notification service API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "DESCRIPTION": "Notifications for people (inbox, subscriptions) and for services (events, sends).",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "apps.common.channels.Channel",
        # The channels people are subscribed and sent on (all but the operators' `chat`).
        "PersonChannelEnum": "apps.common.channels.PERSON_CHANNEL_CHOICES",
        # One schema name for the priority choices (sends and event types).
        "PriorityEnum": "apps.common.priorities.PRIORITY_CHOICES",
    },
    # /api/docs/ and /api/redoc/ load their scripts from our static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Load shedding (apps/common/load_shedding.py), per web process: a request that waited
# longer than the budget in the server's queue, or that would run beside the maximum
# already in flight, answers 503 with Retry-After at once (0 turns either bound off).
LOAD_SHED_QUEUE_BUDGET_MS = env.int("LOAD_SHED_QUEUE_BUDGET_MS", default=100)
LOAD_SHED_MAX_IN_FLIGHT = env.int("LOAD_SHED_MAX_IN_FLIGHT", default=0)
LOAD_SHED_RETRY_AFTER_SECONDS = env.int("LOAD_SHED_RETRY_AFTER_SECONDS", default=1)
# Never shed: the load balancer's health check and the metrics scrape.
LOAD_SHED_EXEMPT_PATHS = env.list("LOAD_SHED_EXEMPT_PATHS", default=["/health/", "/metrics"])

# Idempotency-Key: answers are kept this long (in PostgreSQL; the retention job deletes
# older ones). A request in flight holds its key until its transaction ends.
IDEMPOTENCY_TTL_SECONDS = env.int("IDEMPOTENCY_TTL_SECONDS", default=24 * 3600)
# Sends one bulk request may carry, and recipients one send may name.
NOTIFICATION_BULK_MAX = env.int("NOTIFICATION_BULK_MAX", default=1000)
NOTIFICATION_RECIPIENTS_MAX = env.int("NOTIFICATION_RECIPIENTS_MAX", default=10_000)
