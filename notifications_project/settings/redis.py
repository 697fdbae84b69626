"""Redis: the Celery broker, the Django cache, pub/sub of the live inbox and the limits
every process shares."""

from .environment import env

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

# Shared by every web process: throttling counters and idempotency records.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# Every Redis client of the service (apps/common/redis_clients.py): seconds to connect,
# seconds a command may wait for its answer, and how long a connection may sit idle
# before it is pinged ahead of its next command.
REDIS_CONNECT_TIMEOUT_SECONDS = env.float("REDIS_CONNECT_TIMEOUT_SECONDS", default=2.0)
REDIS_SOCKET_TIMEOUT_SECONDS = env.float("REDIS_SOCKET_TIMEOUT_SECONDS", default=5.0)
REDIS_HEALTH_CHECK_INTERVAL_SECONDS = env.int("REDIS_HEALTH_CHECK_INTERVAL_SECONDS", default=30)
