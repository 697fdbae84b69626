"""Liveness of what every request and task depends on: the database and the broker."""

import logging

import redis
from django.conf import settings
from django.db import connection

from apps.common.redis_clients import redis_client

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 2


def database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not healthy", never a 500
        logger.warning("health: database check failed", exc_info=True)
        return f"error: {exc.__class__.__name__}"
    return "ok"


def broker_check() -> str:
    try:
        redis_client("health", url=settings.CELERY_BROKER_URL, socket_timeout=TIMEOUT_SECONDS).ping()
    except redis.RedisError as exc:
        logger.warning("health: broker check failed", exc_info=True)
        return f"error: {exc.__class__.__name__}"
    return "ok"


def health_checks() -> dict[str, str]:
    return {"database": database_check(), "broker": broker_check()}
