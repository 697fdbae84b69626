"""A worker process keeps its PostgreSQL connections from one task to the next
(notifications_project/celery_pool.py): Celery's Django fixup alone closed the pool
around every task, so each task started new PostgreSQL backends."""

import time

import pytest
from django.db import connection

from apps.events.models import Event, FanoutState
from apps.notifications.publish import event_publish

from ..worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TASKS = 20
STATS_DELAY = 1.5


def sessions_started() -> int:
    """Connections PostgreSQL has accepted to the test database so far. A backend
    reports its own within a second (idle) or at its exit."""
    time.sleep(STATS_DELAY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def publish_and_wait(event_type) -> None:
    event, _ = event_publish(event_type=event_type, data={"name": "one person"})
    wait_until(
        lambda: Event.objects.filter(pk=event.pk, fanout_state=FanoutState.DONE).exists(),
        message=f"event {event.pk} fanned out",
    )


def test_a_worker_runs_many_tasks_on_the_connections_it_has(celery_worker, event_types, make_user, subscribe):
    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's")
    created = event_types["scenario.created"]
    subscribe(make_user("pooled"), created)
    for _ in range(4):  # every pool process opens its pool once
        publish_and_wait(created)
    before = sessions_started()
    for _ in range(TASKS):
        publish_and_wait(created)
    started = sessions_started() - before
    # Without the pool kept, each task started two backends.
    assert started <= 2, f"{started} connections for {TASKS} tasks"
