"""The Celery queues and the worker groups that consume them, derived from the
priorities (apps/common/priorities.py) so that the settings, the Procfile and
docker-compose.yml cannot disagree.

    python -m notifications_project.queues <group>

prints the group's queues as one comma-separated `-Q` list, highest priority first.

On Redis, a worker polls its queues in the listed order (the transport's
queue_order_strategy is `priority`); RabbitMQ pushes from every queue a worker consumes
at once. Either way the urgent group's own workers are what guarantees that critical
and high work never waits behind the rest.

No Django: the settings import it, and the command runs before any process has set
Django up.
"""

import argparse
import sys
from typing import NamedTuple
from urllib.parse import urlsplit

from kombu import Exchange, Queue

from apps.common.priorities import NORMAL, PRIORITIES, URGENT, priority_queues

CHANNELS = ("in_app", "email", "sms", "push", "webhook", "log", "slack", "chat", "mobile_push")
FANOUT = "fanout"
# Work of these kinds has a queue per priority: `<kind>.<priority>`, normal keeps the plain name.
PRIORITISED_KINDS = (FANOUT, *CHANNELS)
# Queues without priorities: tasks routed nowhere else, beat's periodic jobs, and the
# status webhooks' posts to services (a slow receiver holds up no delivery).
DEFAULT, MAINTENANCE, INTEGRATIONS = "default", "maintenance", "integrations"


class Group(NamedTuple):
    """What one kind of worker consumes."""

    kinds: tuple[str, ...]  # whose `<kind>.<priority>` queues it takes
    priorities: tuple[str, ...]  # at these priorities
    normal: tuple[str, ...]  # its queues at normal priority, in the order it polls them


GROUPS = {
    # Everything, in one worker (the Procfile's development worker).
    "all": Group(PRIORITISED_KINDS, PRIORITIES, (DEFAULT, FANOUT, MAINTENANCE, *CHANNELS, INTEGRATIONS)),
    # Only critical and high work: a backlog of low-priority sends never queues in front of it.
    "urgent": Group(PRIORITISED_KINDS, URGENT, ()),
    "fanout": Group((FANOUT,), PRIORITIES, (FANOUT, DEFAULT)),
    # Outbound work: the channels, and the status webhooks.
    "channels": Group(CHANNELS, PRIORITIES, (*CHANNELS, INTEGRATIONS)),
    "maintenance": Group((), PRIORITIES, (MAINTENANCE,)),
    # One channel's own worker, so a slow provider holds up nothing else.
    **{channel: Group((channel,), PRIORITIES, (channel,)) for channel in CHANNELS},
    INTEGRATIONS: Group((), PRIORITIES, (INTEGRATIONS,)),
}


def declared_queues() -> list[str]:
    """Every queue there is (settings.CELERY_TASK_QUEUES), the plain ones first."""
    others = [priority for priority in PRIORITIES if priority != NORMAL]
    return [DEFAULT, FANOUT, MAINTENANCE, *CHANNELS, INTEGRATIONS, *priority_queues(PRIORITISED_KINDS, others)]


# RabbitMQ: every queue is a quorum queue (replicated, kept on disk: it survives a
# node's restart), bound by its own name to one topic exchange, because Celery's native
# delayed delivery, which quorum queues need for countdowns (retries), routes only
# through exchanges that are not direct. Quorum queues have no per-message priority:
# the priorities are separate queues anyway.
TASK_EXCHANGE = Exchange("notifications", type="topic")
QUORUM = {"x-queue-type": "quorum"}


def is_rabbitmq(broker_url: str) -> bool:
    """amqp:// is RabbitMQ; anything else the service runs on is Redis."""
    return urlsplit(broker_url).scheme in {"amqp", "amqps", "pyamqp"}


def task_queues(*, rabbitmq: bool) -> list[Queue]:
    """settings.CELERY_TASK_QUEUES: the declared queues as the broker's kind needs them."""
    if rabbitmq:
        return [Queue(name, TASK_EXCHANGE, routing_key=name, queue_arguments=QUORUM) for name in declared_queues()]
    return [Queue(name) for name in declared_queues()]


def worker_queues(group: str) -> list[str]:
    """The queues a worker of `group` consumes, in the order it polls them."""
    kinds, priorities, normal = GROUPS[group]
    queues = []
    for priority in priorities:
        queues += normal if priority == NORMAL else priority_queues(kinds, [priority])
    return queues


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m notifications_project.queues", description="Print a worker group's -Q list."
    )
    parser.add_argument("group", choices=list(GROUPS))
    args = parser.parse_args(argv)
    print(",".join(worker_queues(args.group)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
