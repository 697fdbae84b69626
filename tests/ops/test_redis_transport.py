"""Publishing to a Redis broker goes through one Redis client per channel
(notifications_project/redis_transport.py), not a new one per message."""

import pytest
import redis
from django.conf import settings
from kombu.transport import pyamqp

from apps.notifications.tasks import fan_out_task
from notifications_project import redis_transport
from notifications_project.celery import app

from ..broker import on_rabbitmq, purge_task_queues, queued_task_args

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_clients_made(monkeypatch):
    """How many redis.Redis clients are built from here on, the task queues empty."""
    if on_rabbitmq():
        pytest.skip("a Redis broker's transport")
    purge_task_queues()
    made = []
    build = redis.Redis.__init__

    def counted(self, *args, **kwargs):
        made.append(1)
        build(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counted)
    return made


def test_fifty_publishes_build_a_client_per_channel_and_every_message_is_queued(redis_clients_made):
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, redis_transport.Transport)
        with app.producer_or_acquire() as producer:
            for event_id in range(1, 51):
                fan_out_task.apply_async(args=[event_id], queue="fanout", producer=producer)

    # One per channel: this test's connection's and the producer pool's.
    assert len(redis_clients_made) <= 2, f"{len(redis_clients_made)} Redis clients for 50 publishes"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    assert client.llen("fanout") == 50
    assert sorted(args[0] for args in queued_task_args("fanout")) == list(range(1, 51))


def test_without_it_kombu_builds_a_client_per_publish(redis_clients_made, monkeypatch):
    """The reason for it: kombu's own channel, on the same connection."""
    monkeypatch.setattr(redis_transport.Channel, "conn_or_acquire", redis_transport.kombu_redis.Channel.conn_or_acquire)
    with app.producer_or_acquire() as producer:
        for event_id in range(1, 11):
            fan_out_task.apply_async(args=[event_id], queue="fanout", producer=producer)
    assert len(redis_clients_made) >= 10


def test_an_amqp_broker_keeps_its_own_transport():
    with app.connection_for_write("amqp://guest:guest@127.0.0.1:5672//") as connection:
        assert connection.transport_cls == "amqp"
        assert isinstance(connection.transport, pyamqp.Transport)
