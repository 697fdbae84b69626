import os
import re
import time
import uuid
from collections import Counter
from pathlib import Path

import kombu.pools
from django.conf import settings
from django.db import connection
from django.db.models import Count

from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from notifications_project.celery import app
from notifications_project.queues import is_rabbitmq, task_queues

# The log channel's JSON line, inside the worker's own JSON log record (quotes escaped there).
LOGGED_DELIVERY = re.compile(r'\\?"delivery_id\\?": (\d+), \\?"event_id\\?": ')


def run_id() -> str:
    """Worker names (and so their log files) unique to this run."""
    return uuid.uuid4().hex[:8]


def make_audience(event_type, count: int, *, channels: list[str], prefix: str = "crowd") -> None:
    """`count` users, each subscribed to event_type on every channel, in two statements."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                                      is_staff, is_active, date_joined)
               SELECT '!', false, %s || g, '', '', %s || g || '@example.com', false, true, now()
               FROM generate_series(1, %s) g""",
            [prefix, prefix, count],
        )
        cursor.execute(
            """INSERT INTO subscriptions_subscription
                   (user_id, event_type_id, channel, subject_type, subject_id, enabled, created_at, updated_at)
               SELECT u.id, %s, c, '', '', true, now(), now()
               FROM auth_user u CROSS JOIN unnest(%s::text[]) c
               WHERE u.username LIKE %s""",
            [event_type.pk, channels, f"{prefix}%"],
        )


def logged_deliveries(log_paths: list[Path]) -> Counter:
    """How many times each delivery id was written by the `log` channel, over all logs."""
    counts: Counter = Counter()
    for path in log_paths:
        if path.exists():
            counts.update(int(match) for match in LOGGED_DELIVERY.findall(path.read_text(errors="replace")))
    return counts


def sent_twice(deliveries) -> list[int]:
    """Deliveries with more than one `sent` in their history."""
    return list(
        DeliveryEvent.objects.filter(delivery__in=deliveries, status=DeliveryStatus.SENT)
        .values("delivery_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("delivery_id", flat=True)
    )


def recovered_ids(deliveries) -> set[int]:
    """Deliveries a dead worker left in `sending` (their history says so)."""
    from apps.delivery.recovery import WORKER_LOST

    return set(
        DeliveryEvent.objects.filter(delivery__in=deliveries, detail__error=WORKER_LOST).values_list(
            "delivery_id", flat=True
        )
    )


def status_counts(queryset) -> dict:
    return dict(Counter(Delivery.objects.filter(pk__in=queryset.values("pk")).values_list("status", flat=True)))


def busiest_pool_child(worker, sample: float = 0.2) -> int:
    """The pool child that used the most CPU over `sample` seconds: the one at work."""

    def cpu(pid: int) -> int:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return -1
        return int(fields[11]) + int(fields[12])  # utime + stime

    pids = worker.pool_pids
    before = {pid: cpu(pid) for pid in pids}
    time.sleep(sample)
    return max(pids, key=lambda pid: cpu(pid) - before[pid])


def broker_use(url: str) -> None:
    """The tests' settings and Celery app publish to `url`, with the queues and transport
    options that broker's kind is given in the settings (quorum queues and publisher
    confirms on RabbitMQ); workers started afterwards get it as TEST_BROKER_URL."""
    rabbitmq = is_rabbitmq(url)
    settings.CELERY_BROKER_URL = url
    # Celery prefers the environment's CELERY_BROKER_URL (settings_test put it there) to its configuration.
    os.environ["CELERY_BROKER_URL"] = url
    settings.CELERY_TASK_QUEUES = task_queues(rabbitmq=rabbitmq)
    options = {"confirm_publish": True} if rabbitmq else settings.CELERY_BROKER_TRANSPORT_OPTIONS
    app.conf.update(broker_url=url, task_queues=settings.CELERY_TASK_QUEUES, broker_transport_options=options)
    app.__dict__.pop("amqp", None)  # built from the old broker: its queue map and router
    broker_connections_reset()


def broker_connections_reset() -> None:
    """Close the test process's pooled broker connections (a restarted broker cut them)
    and forget the pools, as Celery does after a fork: the next publish connects anew."""
    kombu.pools.reset()
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
