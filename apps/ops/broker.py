"""The Celery broker as operations reads it, Redis or RabbitMQ alike: whether it answers,
how many messages wait in each queue and how many workers hold unacknowledged; and, on
RabbitMQ, the declaration of every task queue when a worker starts.

Every reading waits two seconds at most (on RabbitMQ over a short connection of its
own, on Redis with the shared client of its purpose): a scrape, a health check or the
dashboard must answer quickly even when the broker does not. A failure raises one of
BROKER_ERRORS."""

import json
import logging
import time

import amqp.exceptions
import kombu
import kombu.exceptions
import redis
from django.conf import settings

from apps.common.redis_clients import redis_client
from notifications_project.queues import is_rabbitmq

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 2
BROKER_ERRORS = (redis.RedisError, OSError, amqp.exceptions.AMQPError, kombu.exceptions.OperationalError)

# Kombu's Redis transport keeps a queue's prioritised messages in sibling lists named
# queue + separator + priority step; priority 0 is the queue name itself.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
UNACKED_KEY = "unacked"
# Unix seconds at publishing, set on every task message (celery_signals): how long the
# oldest message of a queue has waited, which Celery's messages do not say otherwise.
PUBLISHED_AT_HEADER = "x_published_at"


def _url(url: str | None) -> str:
    # Read at call time: tests and the chaos suite point the broker elsewhere.
    return url or settings.CELERY_BROKER_URL


def _amqp_connection(url: str) -> kombu.Connection:
    return kombu.Connection(url, connect_timeout=TIMEOUT_SECONDS, transport_options={"read_timeout": TIMEOUT_SECONDS})


def _redis(url: str, purpose: str = "metrics") -> redis.Redis:
    return redis_client(purpose, url=url, socket_timeout=TIMEOUT_SECONDS)


def ping(url: str | None = None) -> None:
    url = _url(url)
    if is_rabbitmq(url):
        with _amqp_connection(url) as connection:
            connection.connect()
    else:
        _redis(url, "health").ping()


def _queue_keys(queue: str) -> list[str]:
    return [queue, *(f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS)]


def redis_queue_depths(client: redis.Redis, queues: list[str]) -> dict[str, int]:
    """Messages waiting in each queue on Redis (LLEN, all priority lists added up)."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for key in _queue_keys(queue):
            pipe.llen(key)
    lengths = iter(pipe.execute())
    return {queue: sum(next(lengths) for _ in _queue_keys(queue)) for queue in queues}


def _published_at(raw: bytes | None) -> float | None:
    if raw is None:
        return None
    try:
        stamp = json.loads(raw).get("headers", {}).get(PUBLISHED_AT_HEADER)
        return float(stamp) if stamp is not None else None
    except (ValueError, TypeError, AttributeError):
        return None  # not a Celery message of ours, or published before the header was


def redis_queue_oldest_ages(client: redis.Redis, queues: list[str], now: float | None = None) -> dict[str, float]:
    """Seconds the oldest message of each queue has waited on Redis (0 when it is empty
    or its oldest message does not say when it was published). Kombu's Redis transport
    pushes on the left and takes from the right, so each list's oldest is its last element."""
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for key in _queue_keys(queue):
            pipe.lindex(key, -1)
    tails = iter(pipe.execute())
    ages = {}
    for queue in queues:
        stamps = [s for s in (_published_at(next(tails)) for _ in _queue_keys(queue)) if s is not None]
        ages[queue] = max(now - min(stamps), 0.0) if stamps else 0.0
    return ages


def queue_oldest_ages(queues: list[str], url: str | None = None, now: float | None = None) -> dict[str, float] | None:
    """Seconds the oldest message of each queue has waited; None on RabbitMQ, where a
    client cannot look at a message without taking it (RabbitMQ's own metrics have the
    age: rabbitmq_prometheus, or the management API's head_message_timestamp)."""
    url = _url(url)
    if is_rabbitmq(url):
        return None
    return redis_queue_oldest_ages(_redis(url), queues, now)


def rabbitmq_queue_depths(connection: kombu.Connection, queues: list[str]) -> dict[str, int]:
    """Messages ready in each queue on RabbitMQ: a passive declare reads the count without
    creating anything and needs no management plugin. A queue no worker or publisher
    has declared yet holds nothing."""
    depths = {}
    channel = connection.channel()
    try:
        for queue in queues:
            try:
                depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except amqp.exceptions.NotFound:
                depths[queue] = 0
                channel = connection.channel()  # the broker closed the one that asked
    finally:
        channel.close()
    return depths


def queue_depths(queues: list[str], url: str | None = None) -> dict[str, int]:
    """Messages waiting in each of `queues` on the broker of `url` (the Celery broker)."""
    url = _url(url)
    if is_rabbitmq(url):
        with _amqp_connection(url) as connection:
            return rabbitmq_queue_depths(connection, queues)
    return redis_queue_depths(_redis(url), queues)


def unacked_messages(url: str | None = None) -> int | None:
    """Messages workers hold and have not acknowledged. Redis keeps them in one hash;
    AMQP does not tell a client (None): RabbitMQ's own metrics have them
    (rabbitmq_queue_messages_unacked of the rabbitmq_prometheus plugin)."""
    url = _url(url)
    return None if is_rabbitmq(url) else _redis(url).hlen(UNACKED_KEY)


def declare_task_queues(app) -> None:
    """Declare every task queue (quorum, on RabbitMQ) and its binding, not only those
    this worker consumes: Celery's native delayed delivery binds every queue of the app
    at worker start and can bind only queues that exist, and a countdown published to a
    queue that has no such binding yet would be dropped when its delay ends."""
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=3)
        channel = connection.default_channel
        for queue in app.amqp.queues.values():
            queue.bind(channel).declare()
    logger.info("broker: declared %d task queues", len(app.amqp.queues))
