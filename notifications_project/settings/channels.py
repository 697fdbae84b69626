"""The delivery channels (email, SMS, web push, webhooks), their providers, and the
limits and circuit breakers that protect the providers."""

from django.core.exceptions import ImproperlyConfigured

from .environment import BASE_DIR, env

# --- Email -----------------------------------------------------------------
# One django-environ URL (smtp, smtp+tls, smtp+ssl, consolemail) names the backend and server.
_email = env.email_url("EMAIL_URL", default="smtp://127.0.0.1:1025")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="notifications@localhost")

EMAIL_PROVIDER = env("EMAIL_PROVIDER", default="smtp")  # smtp | sendgrid; the other one is the failover
# SMTP connections one batch is spread over (threads), each reused for its share.
EMAIL_SMTP_PARALLEL_CONNECTIONS = env.int("EMAIL_SMTP_PARALLEL_CONNECTIONS", default=4)
# False opens one SMTP connection per message (only to measure what reuse saves).
EMAIL_SMTP_REUSE_CONNECTION = env.bool("EMAIL_SMTP_REUSE_CONNECTION", default=True)
EMAIL_BATCH_SIZE = env.int("EMAIL_BATCH_SIZE", default=500)
# The domain of each email's Message-ID, <delivery-{id}@domain>: stable across resends so
# receivers can de-duplicate; one per installation. Empty: DEFAULT_FROM_EMAIL's domain.
EMAIL_MESSAGE_ID_DOMAIN = env("EMAIL_MESSAGE_ID_DOMAIN", default="")
# Open and click tracking of email (a pixel, links through a signed redirect): off unless
# turned on here or on a stored template (its own choice wins). Links point at PUBLIC_BASE_URL.
EMAIL_TRACKING_ENABLED = env.bool("EMAIL_TRACKING_ENABLED", default=False)
SENDGRID_API_KEY = env("SENDGRID_API_KEY", default="")
SENDGRID_API_HOST = env("SENDGRID_API_HOST", default="https://api.sendgrid.com")
SENDGRID_WEBHOOK_PUBLIC_KEY = env("SENDGRID_WEBHOOK_PUBLIC_KEY", default="")
# A signed SendGrid event batch older than this (by its signed timestamp) is a replay.
SENDGRID_WEBHOOK_MAX_AGE_SECONDS = env.int("SENDGRID_WEBHOOK_MAX_AGE_SECONDS", default=600)

# The development mail catcher (`make run`'s mailcatcher process, listening where the
# default EMAIL_URL points) keeps the newest MAIL_CATCHER_KEEP messages as .eml files in
# MAIL_CATCHER_DIR; staff read them at /dev/mailbox/ (DEBUG only).
MAIL_CATCHER_HOST = env("MAIL_CATCHER_HOST", default="127.0.0.1")
MAIL_CATCHER_PORT = env.int("MAIL_CATCHER_PORT", default=1025)
# Relative to the project directory unless absolute.
MAIL_CATCHER_DIR = BASE_DIR / env("MAIL_CATCHER_DIR", default=".run/mail")
MAIL_CATCHER_KEEP = env.int("MAIL_CATCHER_KEEP", default=200)

# --- SMS -------------------------------------------------------------------
SMS_PROVIDER = env("SMS_PROVIDER", default="twilio")
if EMAIL_PROVIDER not in {"smtp", "sendgrid"} or SMS_PROVIDER != "twilio":
    raise ImproperlyConfigured("EMAIL_PROVIDER must be smtp or sendgrid; SMS_PROVIDER must be twilio.")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="")  # empty: https://api.twilio.com

# --- Push and webhooks -----------------------------------------------------
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
# Outbound webhook and push requests: connect, headers and body together end by this deadline.
OUTBOUND_REQUEST_DEADLINE_SECONDS = env.float("OUTBOUND_REQUEST_DEADLINE_SECONDS", default=10.0)
OUTBOUND_HTTP_CONCURRENCY = env.int("OUTBOUND_HTTP_CONCURRENCY", default=8)

# --- Providers: timeouts, shared rate limits, circuit breakers ------------
PROVIDER_HTTP_TIMEOUT_SECONDS = env.float("PROVIDER_HTTP_TIMEOUT_SECONDS", default=10.0)
# Messages per second per provider, shared by all workers, e.g. sendgrid=100,twilio=10
# (a provider not named is not limited); bursts of up to N seconds' worth.
PROVIDER_RATE_LIMITS = {k: float(v) for k, v in env.dict("PROVIDER_RATE_LIMITS", default={}).items()}
PROVIDER_RATE_LIMIT_BURST_SECONDS = env.float("PROVIDER_RATE_LIMIT_BURST_SECONDS", default=1.0)
# A provider's circuit opens after this many consecutive failed calls and lets one
# probe through after the cool-down.
CIRCUIT_FAILURE_THRESHOLD = env.int("CIRCUIT_FAILURE_THRESHOLD", default=5)
CIRCUIT_COOLDOWN_SECONDS = env.float("CIRCUIT_COOLDOWN_SECONDS", default=30.0)

# --- Slack, chat destinations, mobile push ---------------------------------
# The `slack` channel's bot token (xoxb-…, scope chat:write) and Web API base URL.
SLACK_BOT_TOKEN = env("SLACK_BOT_TOKEN", default="")
SLACK_API_BASE_URL = env("SLACK_API_BASE_URL", default="https://slack.com/api/")
# Firebase Cloud Messaging HTTP v1 (the `mobile_push` channel): the service account's JSON
# key file; its token_uri is where the OAuth token comes from.
FCM_SERVICE_ACCOUNT_FILE = env("FCM_SERVICE_ACCOUNT_FILE", default="")
# The FCM API's base URL (tests point it at a local server).
FCM_API_BASE_URL = env("FCM_API_BASE_URL", default="https://fcm.googleapis.com")
# How long FCM keeps a message for a device that is offline.
FCM_TTL_SECONDS = env.int("FCM_TTL_SECONDS", default=24 * 3600)
# Seconds one Apprise notification to an operator's chat destination may take.
CHAT_TIMEOUT_SECONDS = env.float("CHAT_TIMEOUT_SECONDS", default=10.0)
