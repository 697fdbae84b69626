"""Chaos tests run on servers of their own: a private PostgreSQL cluster and a private
redis-server, started by the fixtures below, so that they can be restarted, stopped and
emptied without touching the shared ones.

They run in a pytest invocation of their own (`make chaos`): pytest-django's test
database is created on the private cluster (django_db_modify_db_settings below points
the `default` database there), the tests' Celery app publishes to the private Redis,
and tests/worker.py hands both to every worker it starts. In a mixed run (plain
`pytest`), they are skipped.
"""

import shutil

import pytest
import redis
from django.conf import settings
from django.db import connections

from notifications_project.celery import app

from .servers import PrivatePostgres, PrivateRedis, private_workdir

CHAOS_DB_NAME = "notifications_chaos"


def pytest_collection_modifyitems(config, items):
    chaos = [item for item in items if item.get_closest_marker("chaos")]
    if chaos and len(chaos) < len(items):
        skip = pytest.mark.skip(reason="chaos tests run on their own servers in their own run: make chaos")
        for item in chaos:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def clean_redis():
    """The shared test Redis is not used here: each test empties the private one (broker)."""


@pytest.fixture(scope="session")
def chaos_workdir():
    path = private_workdir("chaos-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def private_pg(chaos_workdir):
    server = PrivatePostgres(chaos_workdir).init().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def private_redis(chaos_workdir):
    server = PrivateRedis(chaos_workdir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(private_pg, private_redis):
    """Point the test database and the broker at the private servers before pytest-django
    creates the database; workers started by tests/worker.py follow both."""
    private = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": CHAOS_DB_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": "127.0.0.1",
        "PORT": str(private_pg.port),
        "OPTIONS": {},  # not those of the database it replaces (SQLite's timeout)
    }
    for databases in (settings.DATABASES, connections.settings):
        databases["default"].update(private)
        databases["default"].setdefault("TEST", {})["NAME"] = f"test_{CHAOS_DB_NAME}"
    connections["default"].close()
    del connections["default"]  # a wrapper built from the old settings would keep its engine
    url = private_redis.url(0)
    settings.REDIS_URL = settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url
    assert f":{private_redis.port}/" in app.connection_for_write().as_uri(), "broker not redirected"


@pytest.fixture
def broker(private_redis):
    """The private Redis, emptied for the test."""
    redis.Redis.from_url(private_redis.url(0)).flushdb()
    return private_redis
