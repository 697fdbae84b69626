"""Debug mode, the signing key, who may call the web, and password rules."""

from datetime import timedelta

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from .environment import env

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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    # Its password_changed hook revokes the person's tokens on every path that sets a password.
    {"NAME": "apps.accounts.tokens.RevokeTokensOnPasswordChange"},
]

# Secrets at rest: Fernet keys (`python -c "from cryptography.fernet import Fernet;
# print(Fernet.generate_key().decode())"`), comma-separated: the first encrypts, all
# decrypt (apps/common/crypto.py). Rotation: put a new key first, run
# `manage.py encryption_keys_rotate`, then drop the old one.
DEV_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktISE="
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[DEV_FIELD_ENCRYPTION_KEY] if DEBUG else [])
if not DEBUG and (not FIELD_ENCRYPTION_KEYS or DEV_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEYS):
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS is missing or holds the development key: set it in the environment "
        "(or DEBUG=true for local development)."
    )
try:  # a malformed key stops the start, not the first read of a secret
    [Fernet(key) for key in FIELD_ENCRYPTION_KEYS]
except ValueError as exc:
    raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds a key that is not a Fernet key: {exc}") from exc

# Production defaults are the safe ones (`manage.py check --deploy` passes); DEBUG relaxes them.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Health checks and the metrics scrape reach the web over plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = env.list("SECURE_REDIRECT_EXEMPT", default=[r"^health/$", r"^metrics$"])
# Behind a TLS-terminating proxy: "HTTP_X_FORWARDED_PROTO,https". Only set it when the
# proxy always sets (and strips incoming) that header.
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if len(_proxy_ssl_header) == 2 else None
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = env.bool("SECURE_CONTENT_TYPE_NOSNIFF", default=True)
SECURE_REFERRER_POLICY = env("SECURE_REFERRER_POLICY", default="same-origin")
X_FRAME_OPTIONS = env("X_FRAME_OPTIONS", default="DENY")

# Person tokens (POST /api/v1/auth/token/) stop working this long after they were issued.
PERSON_TOKEN_TTL_SECONDS = env.int("PERSON_TOKEN_TTL_SECONDS", default=14 * 24 * 3600)

# Sign-in lock-out (django-axes) on the token API, /accounts/login/ and /admin/login/:
# after SIGNIN_FAILURE_LIMIT wrong passwords for one username, or from one address, that
# username or address is refused for SIGNIN_COOLOFF_SECONDS (429 with Retry-After).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("SIGNIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("SIGNIN_COOLOFF_SECONDS", default=15 * 60))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
# A success does not wipe the failures: axes would wipe every failure from the address,
# so an attacker with an account of their own could sign in between guesses at others.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "apps.accounts.signin.signin_lockout_response"
# Failures are what the lock-out needs; a row per successful sign-in would only grow.
AXES_DISABLE_ACCESS_LOG = True
# The address is REMOTE_ADDR unless a proxy in front is trusted to set a header, e.g.
# SIGNIN_CLIENT_IP_HEADERS=HTTP_X_FORWARDED_FOR with SIGNIN_PROXY_COUNT=1.
AXES_IPWARE_META_PRECEDENCE_ORDER = env.list("SIGNIN_CLIENT_IP_HEADERS", default=["REMOTE_ADDR"])
AXES_IPWARE_PROXY_COUNT = env.int("SIGNIN_PROXY_COUNT", default=None)
