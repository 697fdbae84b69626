"""Settings, all read from the environment (see .env.example)."""

from pathlib import Path

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
    "django_celery_beat",
    "templated_mail",
    "apps.common",
    "apps.accounts",
    "apps.events",
    "apps.subscriptions",
    "apps.notifications",
    "apps.delivery",
    "apps.scenarios",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.common.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
LOGIN_URL = "/admin/login/"

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
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
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
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# --- Delivery dispatch -----------------------------------------------------
CELERY_TASK_ROUTES["delivery.*"] = {"queue": "default"}  # dispatch picks the channel's queue itself
DELIVERY_MAX_ATTEMPTS_DEFAULT = env.int("DELIVERY_MAX_ATTEMPTS", default=5)
# Per channel, e.g. DELIVERY_MAX_ATTEMPTS_BY_CHANNEL=email=8,sms=4
DELIVERY_MAX_ATTEMPTS = {k: int(v) for k, v in env.dict("DELIVERY_MAX_ATTEMPTS_BY_CHANNEL", default={}).items()}
DELIVERY_RETRY_BACKOFF_SECONDS = env.float("DELIVERY_RETRY_BACKOFF_SECONDS", default=2)
DELIVERY_RETRY_BACKOFF_MAX_SECONDS = env.float("DELIVERY_RETRY_BACKOFF_MAX_SECONDS", default=600)

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
# A delivery in `sending` for longer than this lost its worker: the sweeper re-queues
# it. Longer than the task time limit, so a live send is never swept.
DELIVERY_SENDING_LEASE_SECONDS = env.int("DELIVERY_SENDING_LEASE_SECONDS", default=CELERY_TASK_TIME_LIMIT + 300)
DELIVERY_SWEEP_INTERVAL_SECONDS = env.int("DELIVERY_SWEEP_INTERVAL_SECONDS", default=60)
