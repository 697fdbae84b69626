"""Twilio answers 503 for 60 s while SMS events are published: the circuit breaker opens,
the failing provider gets only a handful of requests (the failures that open the circuit
and one probe per cool-down), and once it answers again every recipient gets each
message exactly once, every delivery ends `sent` and none spent an attempt while waiting.

The server is a local one speaking Twilio's Messages API (tests/sinks.py), reached
through the real twilio SDK by a real worker."""

import math
import time
from collections import Counter

import pytest
import redis
from django.db import connection
from django.utils import timezone

from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.delivery.resilience.circuit import CLOSED, OPEN, CircuitBreaker
from apps.notifications.publish import event_publish

from ..integration.providers import TWILIO_SID, TWILIO_TOKEN
from ..sinks import ProviderSink
from ..worker import Worker, wait_until
from .helpers import make_audience, run_id, sent_twice, status_counts

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

AUDIENCE = 200
OUTAGE_SECONDS = 60.0
# Events published during the outage, in seconds after it began: at once, then while
# the circuit is open.
PUBLISH_DURING = (0.0, 20.0, 40.0)
THRESHOLD, COOLDOWN, CONCURRENCY = 3, 10.0, 2
# While the circuit is closed, each of the other pool processes may have one request in
# flight when the last failure opens it; then one probe per cool-down at most.
REQUEST_BOUND = THRESHOLD + (CONCURRENCY - 1) + math.ceil(OUTAGE_SECONDS / COOLDOWN)
# A delivery spends an attempt only on a request, so none can spend more than every
# request of the outage plus its successful one: within this limit, `dead` would mean
# a deferral was charged as an attempt.
MAX_ATTEMPTS = 1 + REQUEST_BOUND
WORKER_ENV = {
    "TWILIO_ACCOUNT_SID": TWILIO_SID,
    "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "TWILIO_FROM_NUMBER": "+15005550006",
    "CIRCUIT_FAILURE_THRESHOLD": str(THRESHOLD),
    "CIRCUIT_COOLDOWN_SECONDS": str(COOLDOWN),
    "DELIVERY_MAX_ATTEMPTS_BY_CHANNEL": f"sms={MAX_ATTEMPTS}",
    "DELIVERY_RETRY_BACKOFF_SECONDS": "1",
    "DELIVERY_RETRY_BACKOFF_MAX_SECONDS": "5",
}


class TwilioOutage(ProviderSink):
    """The Twilio-speaking server, answering 503 to everything during an outage window."""

    def __init__(self):
        super().__init__()
        self.down_from = self.down_until = math.inf

    def outage(self, seconds: float) -> None:
        self.down_from = time.monotonic()
        self.down_until = self.down_from + seconds

    def _status_for(self, recipients):
        if self.down_from <= time.monotonic() < self.down_until:
            return 503
        return super()._status_for(recipients)

    def answered(self, status: int) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["status"] == status]


def give_phones(prefix: str) -> None:
    """A profile with a distinct E.164 number for every user of the audience."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO accounts_profile (user_id, phone, timezone, locale)
               SELECT id, '+1415' || lpad(id::text, 7, '0'), 'UTC', 'en'
               FROM auth_user WHERE username LIKE %s""",
            [f"{prefix}%"],
        )


def test_twilio_503_for_60s_opens_the_circuit_and_loses_nothing(broker, event_types):
    executed = event_types["scenario.executed"]
    make_audience(executed, AUDIENCE, channels=["sms"], prefix="texted")
    give_phones("texted")
    circuit = CircuitBreaker("twilio", THRESHOLD, COOLDOWN, client=redis.Redis.from_url(broker.url(0)))
    server = TwilioOutage().start()
    worker = Worker(
        f"outage-{run_id()}",
        queues="fanout,sms",
        concurrency=CONCURRENCY,
        env={**WORKER_ENV, "TWILIO_API_BASE_URL": server.url},
    ).start()
    events, states = [], Counter()
    try:
        # Before the outage: the whole audience is texted once.
        events.append(event_publish(event_type=executed, data={"name": "before"})[0].pk)
        sent = Delivery.objects.filter(status=DeliveryStatus.SENT)
        wait_until(lambda: sent.count() == AUDIENCE, timeout=30, interval=0.2, message="the first wave sent")
        assert len(server.requests) == AUDIENCE

        server.outage(OUTAGE_SECONDS)
        pending = list(PUBLISH_DURING)
        while (elapsed := time.monotonic() - server.down_from) < OUTAGE_SECONDS:
            if pending and elapsed >= pending[0]:
                events.append(event_publish(event_type=executed, data={"name": f"outage+{pending.pop(0)}"})[0].pk)
            states[circuit.state()] += 1
            time.sleep(0.25)
        during, ended_at = len(server.answered(503)), timezone.now()

        everything = len(events) * AUDIENCE
        wait_until(lambda: sent.count() == everything, timeout=30, interval=0.2, message="every delivery sent")
        assert worker.process.poll() is None
    finally:
        worker.stop()
        server.stop()

    deliveries = Delivery.objects.all()
    recovered_in = (max(deliveries.values_list("sent_at", flat=True)) - ended_at).total_seconds()
    print(
        f"{during} requests during the {OUTAGE_SECONDS:.0f}s outage (bound {REQUEST_BOUND}); "
        f"circuit samples {dict(states)}; all {len(events) * AUDIENCE} sent {recovered_in:.1f}s after it"
    )
    # The circuit opened, and the provider was hardly bothered while it was down.
    assert states[OPEN] > states[CLOSED]
    assert DeliveryEvent.objects.filter(status="deferred", detail__reason="circuit_open").exists()
    assert THRESHOLD <= during <= REQUEST_BOUND
    assert circuit.state() == CLOSED

    # Nothing lost, nothing twice: every recipient got one message per event.
    assert deliveries.count() == len(events) * AUDIENCE
    assert status_counts(deliveries) == {DeliveryStatus.SENT: len(events) * AUDIENCE}
    assert not sent_twice(deliveries)
    accepted = server.answered(201)
    assert set(Counter(r["recipients"][0] for r in accepted).values()) == {len(events)}
    assert len(Counter(r["recipients"][0] for r in accepted)) == AUDIENCE
    assert {r["message_id"] for r in accepted} == set(deliveries.values_list("provider_message_id", flat=True))
    # An attempt is a request: deferrals while the circuit was open cost none.
    attempts = sum(deliveries.values_list("attempts", flat=True))
    assert attempts == len(server.requests) == len(accepted) + during
