"""Test settings: the real settings, pointed at a Redis database (and a broker) of the
tests' own."""

import os

os.environ.setdefault("DEBUG", "true")
# Always a database of its own: tests flush it.
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
# The broker: that Redis database, or the RabbitMQ of TEST_BROKER_URL (amqp://…/vhost),
# which `make test` runs the real-worker tests on as well. The tests purge its queues.
os.environ["CELERY_BROKER_URL"] = os.environ.get("TEST_BROKER_URL") or os.environ["REDIS_URL"]
os.environ.setdefault("CONN_MAX_AGE", "0")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests make hundreds of requests a minute as one caller; the throttling tests set their own rates.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"api_key": "100000/min", "person": "100000/min"}  # noqa: F405
# Every test signs in from 127.0.0.1; the sign-in lock-out tests set their own limit.
AXES_FAILURE_LIMIT = 1000
