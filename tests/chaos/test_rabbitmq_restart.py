"""RabbitMQ restarted with work queued: the app's queues are quorum queues, kept on disk,
so every queued fan-out is still there when the node is back, and a worker started then
delivers each recipient's message once. Runs on a private node (never the shared one)."""

import pytest

from apps.delivery.models import Delivery, DeliveryStatus
from apps.events.models import Event, FanoutState
from apps.notifications.models import UserNotification
from apps.notifications.publish import event_publish
from apps.ops import broker
from notifications_project.celery import app

from ..worker import Worker, stop_all_workers, wait_until
from .helpers import broker_connections_reset, make_audience, run_id, sent_twice

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

EVENTS = 200
RECIPIENTS = 50


def queue_types(node) -> dict[str, str]:
    listed = node.ctl("list_queues", "-p", node.vhost, "--quiet", "--no-table-headers", "name", "type")
    return dict(line.split("\t") for line in listed.splitlines() if line.strip())


@pytest.mark.timeout(300)
def test_queued_fan_outs_survive_a_node_restart(rabbitmq_broker, event_types):
    node = rabbitmq_broker
    stop_all_workers()
    executed = event_types["scenario.executed"]
    make_audience(executed, RECIPIENTS, channels=["in_app", "log"], prefix="restart")
    # A worker declares every task queue when it starts: start one, then leave the queues
    # to themselves (nothing consumes while the events are published).
    Worker(f"declare-{run_id()}", queues="maintenance", concurrency=1).start().stop()
    types = queue_types(node)
    task_queues = [queue.name for queue in app.amqp.queues.values()]
    assert len(task_queues) > 40
    assert {name: types.get(name) for name in task_queues} == dict.fromkeys(task_queues, "quorum")

    events = [event_publish(event_type=executed, data={"name": f"Restart {n}"})[0] for n in range(EVENTS)]
    assert broker.queue_depths(["fanout"]) == {"fanout": EVENTS}

    node.restart()
    broker_connections_reset()
    assert broker.queue_depths(["fanout"]) == {"fanout": EVENTS}, "queued messages lost in the restart"

    worker = Worker(f"after-restart-{run_id()}", queues="fanout,log,in_app", concurrency=2).start()
    try:
        done = Event.objects.filter(pk__in=[event.pk for event in events], fanout_state=FanoutState.DONE)
        wait_until(lambda: done.count() == EVENTS, timeout=120, message="every fan-out done")
        sent = Delivery.objects.filter(notification__event__in=events, status=DeliveryStatus.SENT)
        wait_until(lambda: sent.count() == EVENTS * RECIPIENTS, timeout=120, message="every delivery sent")
    finally:
        worker.stop()
    assert UserNotification.objects.filter(event__in=events).count() == EVENTS * RECIPIENTS
    assert not sent_twice(Delivery.objects.filter(notification__event__in=events))
    assert broker.queue_depths(["fanout", "log"]) == {"fanout": 0, "log": 0}
