import os
import time

import pytest
import redis
from django.conf import settings
from django.core.management.base import CommandError
from django.db import OperationalError
from django.test import TransactionTestCase, override_settings
from rest_framework.test import APIClient

from apps.accounts.services import user_create
from apps.common.channels import Channel
from apps.common.priorities import priority_queues
from apps.events.event_types import event_type_ensure
from apps.scenarios.event_types import SCENARIO_EVENT_TYPES
from apps.subscriptions.models import Subscription

from .broker import on_rabbitmq, purge_task_queues
from .sinks import SmtpSink
from .worker import ALL_QUEUES, Worker

# The email and sms queues (of every priority) belong to the provider tests' own
# workers, which point those channels at local sinks (tests/sinks.py); the session
# worker leaves them alone.
PROVIDER_QUEUES = set(priority_queues(["email", "sms"]))
SESSION_QUEUES = ",".join(q for q in ALL_QUEUES.split(",") if q not in PROVIDER_QUEUES)


@pytest.fixture(scope="session", autouse=True)
def clean_redis():
    """Tests own their Redis database: start from nothing."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(scope="session", autouse=True)
def clean_broker(clean_redis):
    """On RabbitMQ (TEST_BROKER_URL), the task queues of the tests' vhost start empty too;
    on Redis, clean_redis has emptied them."""
    if on_rabbitmq():
        purge_task_queues()


@pytest.fixture(scope="session", autouse=True)
def flush_survives_deadlocks():
    """A worker shared by a module's tests may still be finishing the last test's work
    (history rows, a relay) while the teardown flush truncates every table; PostgreSQL
    breaks such a deadlock by failing one side, and when it picks the flush, the flush
    runs again once the worker's transaction is gone."""
    flush = TransactionTestCase._fixture_teardown

    def flush_retrying_deadlocks(self, attempts=5):
        for attempt in range(attempts):
            try:
                return flush(self)
            except CommandError as error:
                cause = error.__cause__
                deadlocked = isinstance(cause, OperationalError) and "deadlock detected" in str(cause)
                if not deadlocked or attempt + 1 == attempts:
                    raise
                time.sleep(0.2 * (attempt + 1))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", flush_retrying_deadlocks)
        yield


@pytest.fixture
def rabbitmq():
    """For a test of RabbitMQ itself: it runs in `make test`'s RabbitMQ pass only."""
    if not on_rabbitmq():
        pytest.skip("RabbitMQ only: make test runs it with TEST_BROKER_URL=amqp://…")


@pytest.fixture(scope="session", autouse=True)
def outbound_http_config():
    """Push and webhook tests reach their local servers by the name `localhost` only, so
    http://127.0.0.1 stays refused; web push signs with a VAPID key made for the run.
    Also put in the environment, so worker processes started later see the same."""
    from apps.delivery.channels.push import vapid_keys_generate

    public, private = vapid_keys_generate()
    values = {"VAPID_PUBLIC_KEY": public, "VAPID_PRIVATE_KEY": private, "VAPID_SUBJECT": "mailto:ops@example.com"}
    os.environ.update(values, WEBHOOK_ALLOWED_HOSTS="localhost")
    with override_settings(WEBHOOK_ALLOWED_HOSTS=["localhost"], **values):
        yield


@pytest.fixture
def event_types(db):
    """The scenario event types (a transactional test's flush removes the migrated ones)."""
    return {key: event_type_ensure(key=key, name=name, self_service=True) for key, name in SCENARIO_EVENT_TYPES.items()}


@pytest.fixture
def make_user(db):
    counter = iter(range(1, 10_000))

    def make(username=None, **fields):
        username = username or f"user{next(counter)}"
        return user_create(username=username, email=f"{username}@example.com", password="secret-pass-1", **fields)

    return make


@pytest.fixture
def subscribe():
    def subscribe(user, event_type, channel=Channel.IN_APP, enabled=True, **fields):
        return Subscription.objects.create(user=user, event_type=event_type, channel=channel, enabled=enabled, **fields)

    return subscribe


@pytest.fixture
def client_for():
    def client_for(user):
        client = APIClient()
        client.force_authenticate(user=user)
        return client

    return client_for


@pytest.fixture(scope="session")
def _session_worker():
    holder = {}
    yield holder
    if holder:
        holder["worker"].stop()


@pytest.fixture
def celery_worker(_session_worker, django_db_setup, django_db_blocker):
    """One real worker process shared by the tests, consuming every queue but the
    provider ones; started again when a test that needs its queues to itself stopped it."""
    worker = _session_worker.get("worker")
    if worker is None or not worker.alive:
        with django_db_blocker.unblock():
            worker = _session_worker["worker"] = Worker("session", queues=SESSION_QUEUES).start()
    return worker


@pytest.fixture
def api_key_client(db):
    from apps.common.services import api_key_create

    def api_key_client(scopes=None):
        _, raw = api_key_create(name="test service", scopes=scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return api_key_client


@pytest.fixture(scope="module")
def smtp_sink():
    """A real SMTP server on 127.0.0.1 for a module's tests (a module may define its own,
    e.g. one that answers slowly)."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()
