"""Redis: the Celery broker, the Django cache, pub/sub of the live inbox and the limits
every process shares."""

from .environment import env

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

# Shared by every web process: throttling counters and idempotency records.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
