"""Every queue a priority routes to is declared and consumed by the Procfile's workers
(and by docker-compose's), the urgent ones by the dedicated urgent worker."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from apps.common.priorities import PRIORITIES, URGENT, fanout_queue_for, queue_for

ROOT = Path(__file__).resolve().parents[2]
KINDS = ["fanout", *settings.NOTIFICATION_CHANNELS]


def procfile_queues(name):
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith(f"{name}:"))
    return set(re.search(r"-Q (\S+)", line).group(1).split(","))


def compose_queues(service):
    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][service]["command"]
    return set(re.search(r"-Q (\S+)", command).group(1).split(","))


def compose_worker_queues():
    """Every queue some compose worker group (not the urgent one) consumes."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    groups = [name for name in services if name.startswith("worker-") and name != "worker-urgent"]
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
