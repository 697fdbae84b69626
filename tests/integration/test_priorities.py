"""A critical send overtakes a flood of low ones, with the workers the Procfile runs."""

import time

import pytest
from django.db.models import Count

from apps.notifications.models import DirectSend, UserNotification
from notifications_project.celery import app

from ..ops.test_deployment_files import option, procfile_command, program_argv, worker_queue_list
from ..worker import Worker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers, pytest.mark.django_db(transaction=True)]

LOW_SENDS = 5000
BULK = 1000


def procfile_worker(name: str) -> tuple[str, int]:
    """The queues and concurrency of a Procfile worker line, defaults expanded."""
    argv = program_argv(procfile_command(name))
    return ",".join(worker_queue_list(argv)), int(option(argv, "--concurrency"))


def other_workers() -> list[str]:
    return [name for reply in (app.control.ping(timeout=0.5) or []) for name in reply]


def low_done() -> int:
    return UserNotification.objects.filter(event__direct_send__priority="low").count()


def test_critical_send_overtakes_5000_queued_low_sends(event_types, make_user, api_key_client):
    # A worker of the rest of the session would take from the same queues: pause it.
    paused = other_workers()
    fanout_queues = [q.name for q in app.conf.task_queues if q.name.startswith("fanout")]
    for queue in fanout_queues:
        if paused:
            app.control.cancel_consumer(queue, destination=paused, reply=True)
    bulk_queues, bulk_concurrency = procfile_worker("worker")
    urgent_queues, urgent_concurrency = procfile_worker("worker_urgent")
    assert "fanout.low" in bulk_queues and "fanout.low" not in urgent_queues
    assert "fanout.critical" in urgent_queues
    workers = [
        Worker("bulk", queues=bulk_queues, concurrency=bulk_concurrency).start(),
        Worker("urgent", queues=urgent_queues, concurrency=urgent_concurrency).start(),
    ]
    try:
        people = [make_user() for _ in range(50)]
        vip = make_user("vip")
        client = api_key_client(["notifications:write"])
        for start in range(0, LOW_SENDS, BULK):
            items = [
                {
                    "event_type": "scenario.executed",
                    "recipients": [people[i % len(people)].pk],
                    "channels": ["in_app", "email"],
                    "priority": "low",
                }
                for i in range(start, start + BULK)
            ]
            response = client.post("/api/v1/notifications/bulk/", {"notifications": items}, format="json")
            assert response.status_code == 202
        assert DirectSend.objects.filter(priority="low").count() == LOW_SENDS
        backlog_before = LOW_SENDS - low_done()

        sent_at = time.monotonic()
        body = {
            "event_type": "scenario.executed",
            "recipients": [vip.pk],
            "channels": ["in_app"],
            "priority": "critical",
        }
        response = client.post("/api/v1/notifications/", body, format="json")
        assert response.status_code == 202
        wait_until(lambda: UserNotification.objects.filter(user=vip).exists(), timeout=30, message="critical item")
        latency = time.monotonic() - sent_at
        done_when_critical_arrived = low_done()
        print(  # noqa: T201 (the measurement, shown with -s)
            f"low backlog when the critical send was made: {backlog_before}; "
            f"low done when it arrived: {done_when_critical_arrived}/{LOW_SENDS}; critical latency {latency:.2f}s"
        )
        assert backlog_before > LOW_SENDS // 2
        assert done_when_critical_arrived < LOW_SENDS // 2, "the critical send waited behind the low ones"
        assert latency < 10
        # The low ones keep flowing meanwhile, each once.
        wait_until(lambda: low_done() > done_when_critical_arrived, timeout=60, message="low backlog moving")
        duplicates = UserNotification.objects.values("event").annotate(n=Count("id")).filter(n__gt=1)
        assert not duplicates.exists()
    finally:
        for worker in workers:
            worker.stop()
        # The rest of the backlog belongs to this test alone (its rows go with it).
        app.control.purge()
        for queue in fanout_queues:
            if paused:
                app.control.add_consumer(queue, destination=paused, reply=True)
