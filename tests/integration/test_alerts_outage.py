"""A provider outage made by a local SMTP port where nothing listens, then a server that
comes up there: the real worker's deliveries fail, smtp's circuit opens, and the alert
evaluation, sent to the worker as beat sends it, pages a local webhook receiver exactly
once, then exactly once more with "resolved" when the server is back; evaluating again
sends nothing. Alert email on the failing server is passed over while it fails."""

import base64
import time

import pytest
from standardwebhooks import Webhook

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.notifications.publish import event_publish
from apps.ops.models import AlertIncident, PeriodicHeartbeat
from apps.ops.tasks import alerts_evaluate_task

from ..http_receiver import Receiver
from ..sinks import SmtpSink, free_port
from ..worker import Worker, wait_until
from .providers import PROVIDER_WORKER_QUEUES, reset_resilience_state, smtp_env

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECRET = "whsec_" + base64.b64encode(b"pager-signing-key-of-32-bytes!!!").decode()
ALERT_QUEUE = "ops-alerts-outage"


def last_evaluation():
    return (
        PeriodicHeartbeat.objects.filter(task="ops.alerts_evaluate").values_list("last_success_at", flat=True).first()
    )


def evaluate():
    """One evaluation in the worker, as beat would send it, waited for: each in a slot
    of its own (ALERT_EVALUATE_INTERVAL_SECONDS=1), so none is skipped."""
    time.sleep(1.05)
    before = last_evaluation()
    alerts_evaluate_task.apply_async(queue=ALERT_QUEUE)
    wait_until(lambda: last_evaluation() != before, timeout=20, message="an alert evaluation")


def evaluate_until(predicate, message: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        evaluate()
        if predicate():
            return
    raise AssertionError(f"timed out waiting for {message}")


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
        worker = Worker("alerts", queues=f"{PROVIDER_WORKER_QUEUES},{ALERT_QUEUE}", env=env)
        worker.start(exclusive=True)
        try:
            users = [make_user(f"outage{i}") for i in range(3)]
            for user in users:
                subscribe(user, event_types["scenario.created"], channel=Channel.EMAIL)
            event, _ = event_publish(event_type="scenario.created", data={"name": "Outage"})

            evaluate_until(lambda: pager.requests, "the firing alert")
            for _ in range(3):  # still failing: nothing more
                evaluate()
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
                evaluate_until(lambda: len(pager.requests) >= 2, "the resolved alert")
                for _ in range(3):
                    evaluate()
                alert_mail = sink.received("oncall@example.com")
            finally:
                sink.stop()
        finally:
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
