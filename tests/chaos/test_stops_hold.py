"""Stops that hold, through real workers, a real SMTP server and the chaos suite's own
Redis and PostgreSQL:

- a cancelled send's deliveries are never sent, even when the cancel's own task was lost
  with everything else in Redis: the claim refuses them;
- Celery's soft time limit ends a batch stalled at its provider: what the provider
  accepted stays sent, the rest goes back to pending with no attempt used, and is sent
  (once) later;
- the hard time limit kills the stalled process: what it had recorded is not sent again.
"""

import time

import pytest
import redis
from django.contrib.auth import get_user_model

import apps.notifications.sends as sends_module
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.delivery.tasks import sweep_stuck_deliveries_task
from apps.events.models import FanoutState
from apps.notifications.models import DirectSend
from apps.notifications.sends import direct_send_cancel, direct_sends_create

from ..sinks import SmtpSink
from ..worker import Worker, wait_until
from .helpers import run_id

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def _email_send(event_types, make_user, names: list[str]) -> DirectSend:
    people = [make_user(name) for name in names]
    staff = get_user_model().objects.create_user("operator", is_staff=True)
    request = {"event_type": event_types["scenario.executed"], "recipients": [p.pk for p in people]}
    (send,) = direct_sends_create(caller=staff, requests=[{**request, "channels": ["email"]}])
    return send


def _deliveries(send: DirectSend):
    return Delivery.objects.filter(notification__event_id=send.event_id)


@pytest.mark.timeout(180)
def test_a_cancelled_send_is_not_sent_after_redis_lost_the_cancel(
    broker, event_types, make_user, smtp, settings, monkeypatch
):
    settings.DELIVERY_STALE_PENDING_SECONDS = 0  # the sweeper re-sends every pending delivery
    tag = run_id()
    # Fan-out only: the deliveries wait, pending, with their dispatch tasks in Redis.
    fanout = Worker(f"stops-fanout-{tag}", queues="fanout").start()
    try:
        send = _email_send(event_types, make_user, [f"held{i}" for i in range(30)])
        wait_until(lambda: DirectSend.objects.get(pk=send.pk).event.fanout_state == FanoutState.DONE, timeout=60)
    finally:
        fanout.stop()
    assert _deliveries(send).filter(status=DeliveryStatus.PENDING).count() == 30

    # The cancel leaves every delivery to its task, and Redis then loses that task and
    # the dispatch tasks.
    monkeypatch.setattr(sends_module, "CANCEL_INLINE_LIMIT", 0)
    assert direct_send_cancel(send=send, by="test") == 0
    assert _deliveries(send).filter(status=DeliveryStatus.PENDING).count() == 30
    redis.Redis.from_url(broker.url(0)).flushall()

    email = Worker(f"stops-email-{tag}", queues="email", env={"EMAIL_URL": smtp.url, "EMAIL_PROVIDER": "smtp"})
    email.start()
    try:
        assert sweep_stuck_deliveries_task()["requeued"] == 30
        wait_until(
            lambda: not _deliveries(send).exclude(status=DeliveryStatus.CANCELLED).exists(),
            timeout=60,
            message="every delivery cancelled by its claim",
        )
    finally:
        email.stop()
    assert smtp.arrivals() == []
    assert not DeliveryEvent.objects.filter(delivery__in=_deliveries(send), status=DeliveryStatus.SENT).exists()
    assert set(
        DeliveryEvent.objects.filter(delivery__in=_deliveries(send), status=DeliveryStatus.CANCELLED).values_list(
            "detail__by", flat=True
        )
    ) == {"claim"}
    assert set(_deliveries(send).values_list("attempts", flat=True)) == {0}


# One connection per batch, so the messages go in order: five accepted, then the stall;
# each acceptance recorded before the next send (a window of 1), so the five are in the
# database when the limits strike.
STALL_ENV = {
    "EMAIL_SMTP_PARALLEL_CONNECTIONS": "1",
    "DELIVERY_ACCEPTANCE_WINDOW": "1",
    "DELIVERY_RETRY_BACKOFF_SECONDS": "1",
}
BEFORE, AFTER = [f"early{i}" for i in range(5)], [f"late{i}" for i in range(5)]


def _sent_once_each(smtp, names: list[str]) -> None:
    arrivals = smtp.arrivals()
    assert sorted(arrivals) == sorted(f"{name}@example.com" for name in names), arrivals


def _stall_worker(name: str, smtp, *, soft_limit: int, hard_limit: int) -> Worker:
    """A worker sending email to the stalling server, with these task time limits."""
    env = {
        **STALL_ENV,
        "EMAIL_URL": smtp.url,
        "EMAIL_PROVIDER": "smtp",
        "CELERY_TASK_SOFT_TIME_LIMIT": str(soft_limit),
        "CELERY_TASK_TIME_LIMIT": str(hard_limit),
    }
    return Worker(f"stops-{name}-{run_id()}", queues="fanout,email", env=env).start()


@pytest.mark.timeout(180)
def test_the_soft_time_limit_keeps_what_was_sent_and_leaves_the_rest_pending(
    broker, event_types, make_user, smtp, settings
):
    names = [*BEFORE, "stall-one", *AFTER]
    worker = _stall_worker("soft", smtp, soft_limit=4, hard_limit=40)
    try:
        send = _email_send(event_types, make_user, names)
        deliveries = _deliveries(send)
        stopped = DeliveryEvent.objects.filter(delivery__in=deliveries, status="deferred", detail__reason="time_limit")
        wait_until(lambda: stopped.exists(), timeout=60, message="the soft time limit to stop the batch")
        first_sent = set(
            DeliveryEvent.objects.filter(delivery__in=deliveries, status=DeliveryStatus.SENT).values_list(
                "delivery__notification__user__username", flat=True
            )
        )
        assert first_sent == set(BEFORE), "what the server accepted before the stall is recorded as sent"
        assert set(stopped.values_list("delivery__notification__user__username", flat=True)) == {"stall-one", *AFTER}
        # Sent later: the stalled server takes each message the second time.
        wait_until(lambda: deliveries.filter(status=DeliveryStatus.SENT).count() == len(names), timeout=60)
    finally:
        worker.stop()
    assert not deliveries.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.DEAD]).exists()
    # The stopped batch used no attempt: each delivery's one attempt is the one that sent it.
    assert set(deliveries.values_list("attempts", flat=True)) == {1}
    _sent_once_each(smtp, names)


@pytest.mark.timeout(180)
def test_the_hard_time_limit_does_not_resend_what_was_recorded(broker, event_types, make_user, smtp, settings):
    # The sweeper recovers what the killed process held (or left pending, had the soft
    # limit, due at the same moment, run first).
    settings.DELIVERY_STUCK_SENDING_SECONDS = 0
    settings.DELIVERY_STALE_PENDING_SECONDS = 0
    names = [*BEFORE, "stall-two", *AFTER]
    # Celery wants soft <= hard: equal, the process is killed as the soft limit comes.
    worker = _stall_worker("hard", smtp, soft_limit=4, hard_limit=4)
    try:
        send = _email_send(event_types, make_user, names)
        deliveries = _deliveries(send)
        wait_until(lambda: deliveries.filter(status=DeliveryStatus.SENT).count() == len(BEFORE), timeout=60)
        wait_until(lambda: "stall-two@example.com" in smtp.stalled, timeout=30, message="the stall")
        time.sleep(5)  # past the hard limit: the stalled process is killed
        assert deliveries.filter(status=DeliveryStatus.SENT).count() == len(BEFORE)
        assert not deliveries.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.DEAD]).exists()

        def all_sent():
            sweep_stuck_deliveries_task()
            return deliveries.filter(status=DeliveryStatus.SENT).count() == len(names)

        wait_until(all_sent, timeout=90, interval=1.0, message="every delivery sent after the hard limit")
    finally:
        worker.stop()
    _sent_once_each(smtp, names)
