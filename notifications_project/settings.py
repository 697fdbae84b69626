"""Settings, all read from the environment (see .env.example)."""

from pathlib import Path
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
SECRET_KEY = env("SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is the development default: set SECRET_KEY in the environment "
        "(or DEBUG=true for local development)."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "django_prometheus",
    "django_celery_beat",
    "templated_mail",
    "apps.common",
    "apps.accounts",
    "apps.events",
    "apps.subscriptions",
    "apps.notifications",
    "apps.delivery",
    "apps.scenarios",
    "apps.ops",
    "apps.inbox",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.ops.correlation.CorrelationIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "apps.common.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "notifications_project.urls"
WSGI_APPLICATION = "notifications_project.wsgi.application"
ASGI_APPLICATION = "notifications_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a Celery worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test_db.sqlite3")}
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Bodies larger than this answer 413 before any parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=256 * 1024)
EVENT_DATA_MAX_BYTES = env.int("EVENT_DATA_MAX_BYTES", default=64 * 1024)

PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# --- Email -----------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="smtp://127.0.0.1:1025"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="notifications@localhost")

# --- REST framework --------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.common.auth.ApiKeyAuthentication",
        "apps.common.auth.PersonTokenAuthentication",
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
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Notification service API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Redis and Celery ------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Unacknowledged messages come back after this many seconds (a worker died holding
# them). It must exceed the longest countdown any task is given: long delays go
# through scheduled_at and beat instead.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # How often a worker looks for such messages: every interval × throttle seconds.
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=3),
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

NOTIFICATION_CHANNELS = ["in_app", "email", "sms", "push", "webhook", "log"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue(name) for name in ["default", "fanout", "maintenance", *NOTIFICATION_CHANNELS]]
CELERY_TASK_ROUTES = {
    "notifications.fan_out": {"queue": "fanout"},
    "notifications.in_app.*": {"queue": "in_app"},
    "events.*": {"queue": "maintenance"},
}

# --- Fan-out ---------------------------------------------------------------
FANOUT_CHUNK_SIZE = env.int("FANOUT_CHUNK_SIZE", default=50_000)
# An event whose fan-out made no progress for this long is re-driven by the relay.
OUTBOX_RELAY_GRACE_SECONDS = env.int("OUTBOX_RELAY_GRACE_SECONDS", default=60)
OUTBOX_RELAY_INTERVAL_SECONDS = env.int("OUTBOX_RELAY_INTERVAL_SECONDS", default=30)

# --- Operations: logs, metrics, web inbox ----------------------------------
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

# --- Delivery dispatch -----------------------------------------------------
CELERY_TASK_ROUTES["delivery.*"] = {"queue": "default"}  # dispatch picks the channel's queue itself
DELIVERY_MAX_ATTEMPTS_DEFAULT = env.int("DELIVERY_MAX_ATTEMPTS", default=5)
# Per channel, e.g. DELIVERY_MAX_ATTEMPTS_BY_CHANNEL=email=8,sms=4
DELIVERY_MAX_ATTEMPTS = {k: int(v) for k, v in env.dict("DELIVERY_MAX_ATTEMPTS_BY_CHANNEL", default={}).items()}
DELIVERY_RETRY_BACKOFF_SECONDS = env.float("DELIVERY_RETRY_BACKOFF_SECONDS", default=2)
DELIVERY_RETRY_BACKOFF_MAX_SECONDS = env.float("DELIVERY_RETRY_BACKOFF_MAX_SECONDS", default=600)

# --- Push and webhook channels ---------------------------------------------
# Web Push (VAPID). The public key is what browsers pass as applicationServerKey;
# `python manage.py vapid_keys` makes a pair.
VAPID_PUBLIC_KEY = env("VAPID_PUBLIC_KEY", default="")
VAPID_PRIVATE_KEY = env("VAPID_PRIVATE_KEY", default="")
VAPID_SUBJECT = env("VAPID_SUBJECT", default="mailto:ops@example.com")
# How long a push service keeps a message for an offline browser.
PUSH_TTL_SECONDS = env.int("PUSH_TTL_SECONDS", default=24 * 3600)
# Hosts exempt from the private-address refusal and the https rule (tests, development only).
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
# (connect, read) seconds for every webhook and push request.
WEBHOOK_TIMEOUTS = tuple(env.list("WEBHOOK_TIMEOUTS", cast=float, default=[3.0, 10.0]))
# After a rotation the previous webhook secret still signs for this long.
WEBHOOK_SECRET_ROTATION_GRACE_SECONDS = env.int("WEBHOOK_SECRET_ROTATION_GRACE_SECONDS", default=24 * 3600)
# Requests one push or webhook batch has in flight at once.
OUTBOUND_HTTP_CONCURRENCY = env.int("OUTBOUND_HTTP_CONCURRENCY", default=8)

# --- Delivery channels, providers and resilience --------------------------
EMAIL_PROVIDER = env("EMAIL_PROVIDER", default="smtp")  # smtp | sendgrid; the other one is the failover
# SMTP connections one batch is spread over (threads), each reused for its share.
EMAIL_SMTP_PARALLEL_CONNECTIONS = env.int("EMAIL_SMTP_PARALLEL_CONNECTIONS", default=4)
# False opens one SMTP connection per message (only to measure what reuse saves).
EMAIL_SMTP_REUSE_CONNECTION = env.bool("EMAIL_SMTP_REUSE_CONNECTION", default=True)
EMAIL_BATCH_SIZE = env.int("EMAIL_BATCH_SIZE", default=500)
SENDGRID_API_KEY = env("SENDGRID_API_KEY", default="")
SENDGRID_API_HOST = env("SENDGRID_API_HOST", default="https://api.sendgrid.com")
SENDGRID_WEBHOOK_PUBLIC_KEY = env("SENDGRID_WEBHOOK_PUBLIC_KEY", default="")
SMS_PROVIDER = env("SMS_PROVIDER", default="twilio")
if EMAIL_PROVIDER not in {"smtp", "sendgrid"} or SMS_PROVIDER != "twilio":
    raise ImproperlyConfigured("EMAIL_PROVIDER must be smtp or sendgrid; SMS_PROVIDER must be twilio.")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="")  # empty: https://api.twilio.com
PROVIDER_HTTP_TIMEOUT_SECONDS = env.float("PROVIDER_HTTP_TIMEOUT_SECONDS", default=10.0)
# Messages per second per provider, shared by all workers, e.g. sendgrid=100,twilio=10
# (a provider not named is not limited); bursts of up to N seconds' worth.
PROVIDER_RATE_LIMITS = {k: float(v) for k, v in env.dict("PROVIDER_RATE_LIMITS", default={}).items()}
PROVIDER_RATE_LIMIT_BURST_SECONDS = env.float("PROVIDER_RATE_LIMIT_BURST_SECONDS", default=1.0)
# A provider's circuit opens after this many consecutive failed calls and lets one
# probe through after the cool-down.
CIRCUIT_FAILURE_THRESHOLD = env.int("CIRCUIT_FAILURE_THRESHOLD", default=5)
CIRCUIT_COOLDOWN_SECONDS = env.float("CIRCUIT_COOLDOWN_SECONDS", default=30.0)

# --- Templates, preferences, scheduling and digests ------------------------
INSTALLED_APPS += ["apps.templating", "apps.scheduling"]  # noqa: F405 (defined above)
CELERY_TASK_ROUTES["scheduling.*"] = {"queue": "maintenance"}
CELERY_TASK_ROUTES["subscriptions.*"] = {"queue": "maintenance"}
# Templates fall back from the person's locale to its language, then to this.
NOTIFICATION_DEFAULT_LOCALE = env("NOTIFICATION_DEFAULT_LOCALE", default="en")
# Channels held during quiet hours (in-app is never held).
QUIET_HOURS_CHANNELS = env.list("QUIET_HOURS_CHANNELS", default=["email", "sms", "push"])
# Beat: how often due held/scheduled deliveries are released, and how many per run.
SCHEDULED_RELEASE_INTERVAL_SECONDS = env.int("SCHEDULED_RELEASE_INTERVAL_SECONDS", default=5)
SCHEDULED_RELEASE_BATCH_SIZE = env.int("SCHEDULED_RELEASE_BATCH_SIZE", default=5000)
# Digests: how often closed windows are looked for; daily and weekly ones close at this
# local hour (weekly on this weekday, 0 = Monday) in each person's time zone.
DIGEST_INTERVAL_SECONDS = env.int("DIGEST_INTERVAL_SECONDS", default=60)
DIGEST_SEND_HOUR = env.int("DIGEST_SEND_HOUR", default=8)
DIGEST_WEEKDAY = env.int("DIGEST_WEEKDAY", default=0)
DIGEST_MAX_ENTRIES = env.int("DIGEST_MAX_ENTRIES", default=100)
DIGEST_BATCH_SIZE = env.int("DIGEST_BATCH_SIZE", default=500)
# Retention: read and archived inbox items, and finished deliveries with their history,
# older than this many days are deleted.
RETENTION_DAYS = env.int("RETENTION_DAYS", default=90)
RETENTION_INTERVAL_SECONDS = env.int("RETENTION_INTERVAL_SECONDS", default=3600)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=5000)
# A provider callback whose send is never recorded (not ours, or the worker died before
# recording it) is kept this long, then purged.
EARLY_CALLBACK_KEEP_HOURS = env.int("EARLY_CALLBACK_KEEP_HOURS", default=24)
# A periodic run holds a Redis lock this long at most (two beats never run one slot twice).
PERIODIC_LOCK_TIMEOUT_SECONDS = env.int("PERIODIC_LOCK_TIMEOUT_SECONDS", default=300)
# Prometheus multiprocess mode: every web and worker process writes its figures here
# and /metrics adds them up. Empty: each process reports only itself. The directory
# must be emptied when the whole service (re)starts (`make run` and compose do).
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# The web inbox: Django session sign-in, then /inbox/.
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

# --- Fault tolerance -------------------------------------------------------
# Publishing must not hang the web request while the broker is down: one quick retry,
# then the error goes to event_publish's robust on_commit hook, the event stays in the
# outbox and the relay on beat fans it out once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": env.int("CELERY_PUBLISH_MAX_RETRIES", default=1),
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] = CELERY_BROKER_CONNECTION_TIMEOUT
# A delivery in `sending` for longer than any task may run was left by a dead worker.
DELIVERY_STUCK_SENDING_SECONDS = env.int("DELIVERY_STUCK_SENDING_SECONDS", default=CELERY_TASK_TIME_LIMIT + 60)
# A pending delivery untouched for longer than the longest retry backoff lost its message.
DELIVERY_STALE_PENDING_SECONDS = env.int(
    "DELIVERY_STALE_PENDING_SECONDS", default=DELIVERY_RETRY_BACKOFF_MAX_SECONDS + 300
)
DELIVERY_SWEEP_INTERVAL_SECONDS = env.int("DELIVERY_SWEEP_INTERVAL_SECONDS", default=60)
# --- Service API -----------------------------------------------------------
from apps.common.priorities import priority_queues  # noqa: E402

# Shared by every web process: throttling counters and idempotency records.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "apps.common.throttling.ApiKeyThrottle",
    "apps.common.throttling.PersonThrottle",
]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "api_key": env("API_KEY_THROTTLE_RATE", default="6000/min"),
    "person": env("PERSON_THROTTLE_RATE", default="600/min"),
}
SPECTACULAR_SETTINGS.update(
    {
        "DESCRIPTION": "Notifications for people (inbox, subscriptions) and for services (events, sends).",
        "COMPONENT_SPLIT_REQUEST": True,
        "ENUM_NAME_OVERRIDES": {"ChannelEnum": "apps.common.channels.Channel"},
    }
)
# Idempotency-Key: answers are kept this long; a request in flight holds its key this long at most.
IDEMPOTENCY_TTL_SECONDS = env.int("IDEMPOTENCY_TTL_SECONDS", default=24 * 3600)
IDEMPOTENCY_LOCK_SECONDS = env.int("IDEMPOTENCY_LOCK_SECONDS", default=60)
NOTIFICATION_BULK_MAX = env.int("NOTIFICATION_BULK_MAX", default=1000)
NOTIFICATION_RECIPIENTS_MAX = env.int("NOTIFICATION_RECIPIENTS_MAX", default=10_000)
# How often beat looks for scheduled sends that are due.
SCHEDULED_SEND_SCAN_SECONDS = env.int("SCHEDULED_SEND_SCAN_SECONDS", default=10)
# Priority queues: `<kind>.<priority>` (normal keeps the plain name), kind = fanout or a channel.
CELERY_TASK_QUEUES += [
    Queue(name)
    for name in priority_queues(["fanout", *NOTIFICATION_CHANNELS])
    if name not in {q.name for q in CELERY_TASK_QUEUES}
]
# Kombu's Redis transport polls a worker's queues in the listed order, so within one
# worker higher priorities are served first; separate workers give the hard guarantee.
CELERY_BROKER_TRANSPORT_OPTIONS["queue_order_strategy"] = "priority"
# The batch of a bulk send goes where its priority says (apply_async(queue=...)); by
# default, to the normal fan-out queue.
CELERY_TASK_ROUTES["notifications.fan_out_batch"] = {"queue": "fanout"}

# --- stream: live inbox streams on the ASGI stream process ---
# Open streams one person may hold at once, over every stream process; one more answers 429.
INBOX_STREAMS_PER_PERSON = env.int("INBOX_STREAMS_PER_PERSON", default=5)
# A stream's slot expires this long after its last heartbeat, so a stream process that
# dies frees its people's slots by itself (at least two heartbeats long).
INBOX_STREAM_LEASE_SECONDS = env.float("INBOX_STREAM_LEASE_SECONDS", default=3 * INBOX_STREAM_KEEPALIVE_SECONDS)
