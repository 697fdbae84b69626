"""Liveness of what every request and task depends on: the database and the broker."""

import logging

from django.db import connection

from . import broker

logger = logging.getLogger(__name__)


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
        broker.ping()
    except broker.BROKER_ERRORS as exc:
        logger.warning("health: broker check failed", exc_info=True)
        return f"error: {exc.__class__.__name__}"
    return "ok"


def health_checks() -> dict[str, str]:
    return {"database": database_check(), "broker": broker_check()}
