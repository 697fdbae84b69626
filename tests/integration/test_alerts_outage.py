"""A provider outage made by a local SMTP port where nothing listens, then a server that
comes up there: the real worker's deliveries fail, smtp's circuit opens, and the alert
evaluation, sent every second by a real beat from the database schedule, pages a local
webhook receiver exactly once, then exactly once more with "resolved" when the server
is back; the evaluations in between and after send nothing. Alert email on the failing
server is passed over while it fails."""

import base64

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from standardwebhooks import Webhook

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.notifications.publish import event_publish
from apps.ops.models import AlertIncident, PeriodicHeartbeat

from ..http_receiver import Receiver
from ..sinks import SmtpSink, free_port
from ..worker import Beat, Worker, wait_until
from .providers import PROVIDER_WORKER_QUEUES, reset_resilience_state, smtp_env

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECRET = "whsec_" + base64.b64encode(b"pager-signing-key-of-32-bytes!!!").decode()
ALERT_QUEUE = "ops-alerts-outage"
ALERT_JOB = "Alerts: evaluate the operator alerts"


def last_evaluation():
    return (
        PeriodicHeartbeat.objects.filter(task="ops.alerts_evaluate").values_list("last_success_at", flat=True).first()
    )


def evaluations(count: int) -> None:
    """Wait for `count` more evaluations by beat and the worker (each records its success)."""
    for _ in range(count):
        before = last_evaluation()
        wait_until(lambda before=before: last_evaluation() != before, timeout=20, message="an alert evaluation")


def alert_schedule() -> None:
    """The beat job the migration makes, every second and on a queue of this test's own;
    the other jobs are not this test's business."""
    PeriodicTask.objects.all().delete()
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.create(name=ALERT_JOB, task="ops.alerts_evaluate", interval=every, queue=ALERT_QUEUE)


def test_an_outage_pages_once_and_resolves_once(event_types, make_user, subscribe):
    port = free_port()  # nothing listens yet: every connection is refused
    reset_resilience_state()
    with Receiver() as pager:
        env = {
            **smtp_env(SmtpSink(port=port)),
            "DELIVERY_RETRY_BACKOFF_SECONDS": "0.2",
            "DELIVERY_MAX_ATTEMPTS_BY_CHANNEL": "email=100",
            "CIRCUIT_FAILURE_THRESHOLD": "2",
            "CIRCUIT_COOLDOWN_SECONDS": "1",
            "ALERT_EVALUATE_INTERVAL_SECONDS": "1",
            "ALERT_COOLDOWN_SECONDS": "3600",
            # This test watches the circuit; the other conditions have tests of their own
            # and read state other tests may have left (beat jobs, queues).
            "ALERT_DEAD_DELIVERIES_THRESHOLD": "0",
            "ALERT_PENDING_AGE_SECONDS": "0",
            "ALERT_QUEUE_AGE_SECONDS": "0",
            "ALERT_PERIODIC_LATE_FACTOR": "0",
            "ALERT_WEBHOOK_URL": pager.url("/alerts"),
            "ALERT_WEBHOOK_SECRET": SECRET,
            # The email destination is the failing server itself (ALERT_EMAIL_URL empty).
            "ALERT_EMAIL_TO": "oncall@example.com",
            "ALERT_EMAIL_URL": "",
        }
        alert_schedule()
        worker = Worker("alerts", queues=f"{PROVIDER_WORKER_QUEUES},{ALERT_QUEUE}", env=env)
        worker.start(exclusive=True)
        beat = Beat("alerts", env=env).start()
        try:
            users = [make_user(f"outage{i}") for i in range(3)]
            for user in users:
                subscribe(user, event_types["scenario.created"], channel=Channel.EMAIL)
            event, _ = event_publish(event_type="scenario.created", data={"name": "Outage"})

            wait_until(lambda: pager.requests, timeout=60, message="the firing alert")
            evaluations(3)  # still failing: nothing more
            assert len(pager.requests) == 1
            firing = Webhook(SECRET).verify(pager.requests[0].body, pager.requests[0].headers)
            assert firing["type"] == "alert.firing" and firing["key"] == "circuit_open:smtp"
            assert firing["title"] == "The circuit breaker of provider smtp is open (email)"
            assert int(firing["figures"]["consecutive failed calls"]) >= 2
            assert not Delivery.objects.filter(notification__event=event, status=DeliveryStatus.SENT).exists()

            sink = SmtpSink(port=port).start()  # the server is back
            try:
                wait_until(
                    lambda: Delivery.objects.filter(notification__event=event, status=DeliveryStatus.SENT).count() == 3,
                    timeout=60,
                    message="the deliveries sent once the server is back",
                )
                wait_until(lambda: len(pager.requests) >= 2, timeout=60, message="the resolved alert")
                evaluations(3)
                alert_mail = sink.received("oncall@example.com")
            finally:
                sink.stop()
        finally:
            beat.stop()
            worker.stop()

    assert len(pager.requests) == 2
    resolved = Webhook(SECRET).verify(pager.requests[1].body, pager.requests[1].headers)
    assert resolved["type"] == "alert.resolved" and resolved["incident"] == firing["incident"]
    incident = AlertIncident.objects.get()
    assert incident.key == "circuit_open:smtp" and incident.resolved_at is not None
    # Alert email went to the failing server only once it worked again: the resolved one.
    assert [m["Subject"] for m in alert_mail] == [
        "[notifications] RESOLVED: The circuit breaker of provider smtp is open (email)"
    ]
    assert "not sent to email" not in worker.log_path.read_text(errors="replace")
