"""The tests' look into the broker, Redis or RabbitMQ (TEST_BROKER_URL): what waits in a
queue, and emptying every task queue."""

import base64
import json

import redis
from django.conf import settings

from apps.ops.broker import is_rabbitmq
from notifications_project.celery import app


def on_rabbitmq() -> bool:
    return is_rabbitmq(settings.CELERY_BROKER_URL)


def _task_args(body) -> list:
    return json.loads(body)[0] if isinstance(body, bytes | str) else body[0]


def queued_task_args(queue: str) -> list[list]:
    """The positional arguments of every task message waiting in `queue`, left in place.
    RabbitMQ: each message is taken unacknowledged, and closing the channel puts them
    all back."""
    if not on_rabbitmq():
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        return [_task_args(base64.b64decode(json.loads(raw)["body"])) for raw in client.lrange(queue, 0, -1)]
    found = []
    with app.connection_for_read() as connection:
        channel = connection.channel()
        while (message := channel.basic_get(queue=queue, no_ack=False)) is not None:
            found.append(_task_args(message.body))
        channel.close()
    return found


def purge_task_queues() -> None:
    """Every task queue empty (declared first, so that RabbitMQ has them all)."""
    with app.connection_for_write() as connection:
        app.amqp.TaskConsumer(connection).purge()
