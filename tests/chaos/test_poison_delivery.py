"""A delivery that kills its worker process every time it is sent ends dead after the
retry limit, and everyone else's deliveries, in the same batch and after it, are sent."""

import pytest

from apps.accounts.services import user_create
from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.recovery import WORKER_LOST
from apps.notifications.publish import event_publish
from apps.subscriptions.models import Subscription

from ..worker import Worker, wait_until
from .helpers import make_audience, run_id, sent_twice
from .poison_channel import KEY, POISON_USER

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

MAX_ATTEMPTS = 3
INNOCENTS = 120
POISON_ENV = {
    "DELIVERY_MAX_ATTEMPTS_BY_CHANNEL": f"{KEY}={MAX_ATTEMPTS}",
    "DELIVERY_RETRY_BACKOFF_SECONDS": "1",
    "DELIVERY_RETRY_BACKOFF_MAX_SECONDS": "2",
}


def test_a_delivery_that_kills_its_worker_ends_dead_and_holds_up_no_one(broker, event_types):
    executed = event_types["scenario.executed"]
    make_audience(executed, INNOCENTS // 2, channels=[KEY], prefix="before")
    poison = user_create(username=POISON_USER, email="poison@example.com", password="secret-pass-1")
    Subscription.objects.create(user=poison, event_type=executed, channel=KEY)
    make_audience(executed, INNOCENTS // 2, channels=[KEY], prefix="after")  # ids after the poison's

    worker = Worker(
        f"poison-{run_id()}",
        queues=f"fanout,{KEY}",
        concurrency=2,
        env=POISON_ENV,
        args=["--include", "tests.chaos.poison_channel"],
    ).start()
    try:
        first, _ = event_publish(event_type=executed, data={"name": "first"})
        poisoned = Delivery.objects.filter(notification__user=poison)
        # Once the poison has killed a worker process, a second event still gets through.
        wait_until(lambda: poisoned.filter(attempts__gte=1).exists(), timeout=60, message="first poison attempt")
        second, _ = event_publish(event_type=executed, data={"name": "second"})
        everyone_else = Delivery.objects.exclude(notification__user=poison)
        wait_until(
            lambda: (
                everyone_else.filter(status=DeliveryStatus.SENT).count() == 2 * INNOCENTS
                and poisoned.filter(status=DeliveryStatus.DEAD).count() == 2
            ),
            timeout=120,
            interval=0.2,
            message="innocents sent and the poison dead",
        )
        assert worker.process.poll() is None, "the worker itself must survive its children's deaths"
    finally:
        worker.stop()

    assert everyone_else.count() == 2 * INNOCENTS
    assert not sent_twice(everyone_else)
    for delivery in poisoned:
        assert delivery.attempts == MAX_ATTEMPTS
        assert delivery.status == DeliveryStatus.DEAD and WORKER_LOST in delivery.last_error
        # Each attempt killed a worker process; the last one found the attempts spent.
        assert [e.status for e in delivery.events.all()] == ["pending"] * (MAX_ATTEMPTS - 1) + ["dead"]
    log = worker.log_path.read_text()
    assert log.count("WorkerLostError") >= 2 * MAX_ATTEMPTS
