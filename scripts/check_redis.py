"""Exit non-zero with one clear line when the broker named by REDIS_URL is unreachable."""

import os
import sys

import redis

url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
try:
    redis.Redis.from_url(url, socket_connect_timeout=2).ping()
except redis.RedisError as exc:
    sys.exit(
        f"Redis is unreachable at {url} ({exc.__class__.__name__}). "
        "Start Redis (e.g. `redis-server --daemonize yes`) or set REDIS_URL to a running one."
    )
