"""RabbitMQ as the broker (make test's second pass, TEST_BROKER_URL=amqp://…/vhost):
the app's queues are quorum queues, publishes are confirmed, a countdown waits in the
broker, and the gauges and /health/ read RabbitMQ. Skipped on Redis."""

import time

import amqp.exceptions
import pytest
from kombu import Exchange, Producer, Queue
from prometheus_client.parser import text_string_to_metric_families

from apps.dashboard.providers import queue_depth_by_queue
from apps.ops import broker
from notifications_project.celery import app

from ..worker import wait_until

pytestmark = [pytest.mark.both_brokers, pytest.mark.django_db, pytest.mark.usefixtures("rabbitmq")]

PROBE = "ops-probe"


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.fixture
def channel():
    with app.connection_for_write() as connection:
        channel = connection.channel()
        yield channel
        if channel.is_open:
            channel.close()


def test_every_task_queue_is_a_quorum_queue_the_app_declares(channel):
    queues = list(app.amqp.queues.values())
    assert len(queues) == len(app.conf.task_queues) > 40
    for queue in queues:
        assert queue.queue_arguments == {"x-queue-type": "quorum"}, queue.name
        assert queue.exchange.type == "topic", "native delayed delivery needs a topic exchange"
    # What a worker runs at start; then the broker has each of them as a quorum queue: it
    # refuses to redeclare one as a classic queue.
    broker.declare_task_queues(app)
    for queue in queues:
        assert channel.queue_declare(queue=queue.name, passive=True).queue == queue.name
    with pytest.raises(amqp.exceptions.PreconditionFailed, match="x-queue-type"):
        channel.queue_declare(queue="fanout", durable=True, auto_delete=False, arguments={"x-queue-type": "classic"})


def test_a_publish_the_broker_refuses_fails_its_sender(channel):
    """Publisher confirms: a publish returns once the broker has the message, and one it
    refuses (its queue is full) raises; without confirms it would vanish unnoticed."""
    full = Queue(
        "ops-confirm-probe",
        Exchange("ops-confirm-probe", type="topic"),
        routing_key="ops-confirm-probe",
        queue_arguments={"x-queue-type": "quorum", "x-max-length": 1, "x-overflow": "reject-publish"},
    )
    full.bind(channel).declare()
    try:
        with app.connection_for_write() as connection:
            producer = Producer(connection, exchange=full.exchange, routing_key=full.routing_key)
            accepted = 0
            with pytest.raises(amqp.exceptions.MessageNacked):
                # A quorum queue enforces its length a message or two late.
                for n in range(5):
                    producer.publish({"n": n})
                    accepted += 1
        assert 1 <= accepted < 5
        assert channel.queue_declare(queue=full.name, passive=True).message_count == accepted
    finally:
        channel.queue_delete(full.name)


def test_a_countdown_waits_in_the_broker_then_reaches_its_queue(celery_worker, channel):
    """Quorum queues take countdowns through Celery's native delayed delivery (the
    worker declared its exchanges): the message is in no task queue until it is due."""
    queue = "email.low"  # a provider workers' queue: nothing consumes it here
    channel.queue_purge(queue)
    app.send_task("ops.probe", queue=queue, countdown=2)
    published = time.monotonic()
    assert broker.queue_depths([queue]) == {queue: 0}
    wait_until(lambda: broker.queue_depths([queue])[queue] == 1, timeout=10, message="the delayed message")
    assert time.monotonic() - published >= 1.5
    channel.queue_purge(queue)


def test_queue_depth_gauges_and_the_dashboard_read_rabbitmq(client, settings, channel):
    probe = Queue(PROBE, Exchange(PROBE, type="topic"), routing_key=PROBE, queue_arguments={"x-queue-type": "quorum"})
    probe.bind(channel).declare()
    channel.queue_purge(PROBE)
    settings.CELERY_TASK_QUEUES = [*settings.CELERY_TASK_QUEUES, probe, Queue("ops-never-declared")]
    try:
        producer = Producer(channel, exchange=probe.exchange, routing_key=PROBE)
        for n in range(3):
            producer.publish({"n": n})
        found = scrape(client)
        dashboard = queue_depth_by_queue()
    finally:
        channel.queue_delete(PROBE)
    assert found[("celery_queue_length", (("queue", PROBE),))] == 3
    assert found[("celery_queue_length", (("queue", "ops-never-declared"),))] == 0
    assert dashboard[PROBE] == 3 and dashboard["ops-never-declared"] == 0  # the admin dashboard's reading
    assert ("celery_queue_length", (("queue", "fanout"),)) in found
    assert found[("notifications_scrape_error", (("source", "broker"),))] == 0
    # AMQP does not tell a client how many messages workers hold: no gauge rather than a wrong one.
    assert not any(name == "celery_unacked_messages" for name, _ in found)


def test_health_and_gauges_when_rabbitmq_does_not_answer(client, settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"  # nothing listens on port 1
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("error: ")
    found = scrape(client)
    assert found[("notifications_scrape_error", (("source", "broker"),))] == 1


def test_health_ok_on_rabbitmq(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}
