"""The SMTP server down for 30 s while SendGrid (a local server speaking its API) is up,
events published before, during and after: SMTP's circuit opens and mail fails over to
SendGrid, SMTP takes over again once it is back, and every recipient gets each message
exactly once across the two (nothing is sent by both)."""

import time
from collections import Counter

import pytest
import redis
from aiosmtpd.controller import Controller

from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.delivery.resilience.circuit import CLOSED, OPEN, CircuitBreaker
from apps.notifications.publish import event_publish

from ..sinks import ProviderSink, SmtpSink, _SmtpHandler
from ..worker import Worker, wait_until
from .helpers import make_audience, run_id, sent_twice, status_counts

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

AUDIENCE = 300
OUTAGE_SECONDS = 30.0
PUBLISH_DURING = (0.0, 15.0)
THRESHOLD, COOLDOWN = 2, 5.0
WORKER_ENV = {
    "EMAIL_PROVIDER": "smtp",
    "SENDGRID_API_KEY": "SG.test-key",
    "CIRCUIT_FAILURE_THRESHOLD": str(THRESHOLD),
    "CIRCUIT_COOLDOWN_SECONDS": str(COOLDOWN),
    # Failed SMTP attempts (before the circuit opens, and its probes) cost attempts.
    "DELIVERY_MAX_ATTEMPTS_BY_CHANNEL": "email=20",
    "DELIVERY_RETRY_BACKOFF_SECONDS": "1",
    "DELIVERY_RETRY_BACKOFF_MAX_SECONDS": "5",
}


class RestartableSmtp(SmtpSink):
    """The SMTP sink, stopped (connections refused) and started again on its port."""

    def down(self) -> None:
        self.controller.stop()

    def up(self) -> None:
        self.controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()


def test_smtp_down_for_30s_fails_over_to_sendgrid_and_sends_nothing_twice(broker, event_types):
    executed = event_types["scenario.executed"]
    make_audience(executed, AUDIENCE, channels=["email"], prefix="mailed")
    smtp, sendgrid = RestartableSmtp().start(), ProviderSink().start()
    circuit = CircuitBreaker("smtp", THRESHOLD, COOLDOWN, client=redis.Redis.from_url(broker.url(0)))
    worker = Worker(
        f"failover-{run_id()}",
        queues="fanout,email",
        concurrency=2,
        env={**WORKER_ENV, "EMAIL_URL": smtp.url, "SENDGRID_API_HOST": sendgrid.url},
    ).start()
    sent = Delivery.objects.filter(status=DeliveryStatus.SENT)
    events, states = [], Counter()
    try:
        events.append(event_publish(event_type=executed, data={"name": "before"})[0].pk)
        wait_until(lambda: sent.count() == AUDIENCE, timeout=60, interval=0.2, message="the first wave sent")
        assert not sendgrid.requests

        smtp.down()
        down_at, pending = time.monotonic(), list(PUBLISH_DURING)
        while (elapsed := time.monotonic() - down_at) < OUTAGE_SECONDS:
            if pending and elapsed >= pending[0]:
                events.append(event_publish(event_type=executed, data={"name": f"down+{pending.pop(0)}"})[0].pk)
            states[circuit.state()] += 1
            time.sleep(0.25)
        smtp.up()
        wait_until(
            lambda: sent.count() == len(events) * AUDIENCE, timeout=60, interval=0.2, message="the outage's mail sent"
        )
        recovered_in = time.monotonic() - down_at - OUTAGE_SECONDS

        events.append(event_publish(event_type=executed, data={"name": "after"})[0].pk)
        wait_until(lambda: sent.count() == len(events) * AUDIENCE, timeout=60, interval=0.2, message="all sent")
        assert worker.process.poll() is None
    finally:
        worker.stop()
        smtp.stop()
        sendgrid.stop()

    by_provider = Counter(
        DeliveryEvent.objects.filter(status=DeliveryStatus.SENT).values_list("detail__provider", flat=True)
    )
    accepted_by_sendgrid = [r for r in sendgrid.requests if r["status"] == 202]
    received = Counter(address.split("@")[0] for address in smtp.arrivals())
    received.update(r.split("@")[0] for request in accepted_by_sendgrid for r in request["recipients"])
    print(
        f"\n{len(events)} events x {AUDIENCE}: SMTP down {OUTAGE_SECONDS:.0f}s, circuit samples {dict(states)}; "
        f"the outage's mail all sent {recovered_in:.1f}s after SMTP was back; sent by provider {dict(by_provider)}"
    )
    assert states[OPEN] > 0 and circuit.state() == CLOSED
    assert by_provider["sendgrid"] >= (len(PUBLISH_DURING) - 1) * AUDIENCE, "mail did not fail over"
    assert by_provider["smtp"] >= 2 * AUDIENCE  # before and after the outage
    deliveries = Delivery.objects.all()
    assert status_counts(deliveries) == {DeliveryStatus.SENT: len(events) * AUDIENCE}
    assert not sent_twice(deliveries)
    # Every recipient got each message once, across both providers.
    assert len(received) == AUDIENCE and set(received.values()) == {len(events)}
