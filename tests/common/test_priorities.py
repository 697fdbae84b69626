"""Every queue a priority routes to is declared and consumed by the Procfile's workers
(and by docker-compose's), the urgent ones by the dedicated urgent worker."""

import pytest
from django.conf import settings

from apps.common.priorities import PRIORITIES, URGENT, fanout_queue_for, queue_for

from ..ops.test_deployment_files import SERVICES, check_command, compose_command, procfile_command

KINDS = ["fanout", *settings.NOTIFICATION_CHANNELS]


def procfile_queues(name):
    return check_command(procfile_command(name))


def compose_queues(service):
    return check_command(compose_command(SERVICES[service]))


def compose_worker_queues():
    """Every queue some compose worker group (not the urgent one) consumes."""
    groups = [name for name in SERVICES if name.startswith("worker-") and name != "worker-urgent"]
    return set().union(*(compose_queues(name) for name in groups))


def test_queue_names():
    assert queue_for("email", "critical") == "email.critical"
    assert queue_for("email", "normal") == "email"
    assert fanout_queue_for("low") == "fanout.low"
    with pytest.raises(ValueError):
        queue_for("email", "urgent")


@pytest.mark.parametrize("priority", PRIORITIES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_priority_queue_is_declared_and_consumed(kind, priority):
    queue = queue_for(kind, priority)
    assert queue in {q.name for q in settings.CELERY_TASK_QUEUES}
    assert queue in procfile_queues("worker") and queue in compose_worker_queues()
    urgent = priority in URGENT
    assert (queue in procfile_queues("worker_urgent")) is urgent
    assert (queue in compose_queues("worker-urgent")) is urgent
