"""Limits shared by every worker, kept in Redis: Celery's own rate_limit is per worker."""

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
