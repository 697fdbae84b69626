"""A critical email overtakes 5,000 queued low-priority ones, end to end: a real worker
on real Redis sending to a real SMTP server on 127.0.0.1 that takes a few ms a message.

The worker reads only the critical and low queues (critical first, as the Procfile's
workers do). Work that lost the critical priority on any path (fan-out, dispatch, a
retry, the outbox relay) lands on a queue nobody reads, or behind the backlog: either
way the critical email does not arrive before 90 % of the low ones, and the test fails.
"""

import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.accounts.models import Profile
from apps.delivery.models import Delivery, DeliveryStatus
from apps.events.models import Event
from apps.notifications.models import DirectSend, SendStatus
from apps.notifications.sends import direct_send_create
from apps.notifications.tasks import fan_out_task, outbox_relay

from ..sinks import SmtpSink
from ..worker import Worker, wait_until
from .providers import reset_resilience_state

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers, pytest.mark.django_db(transaction=True)]

LOW_EMAILS = 5000
BATCH = 50  # small dispatch batches: the worker turns to a critical task soon
QUEUES = "fanout.critical,email.critical,fanout.low,email.low"
SMTP_DELAY = 0.004  # the backlog takes 20 s or more, however fast the machine


@pytest.fixture
def smtp_sink():
    sink = SmtpSink(delay=SMTP_DELAY).start()
    yield sink
    sink.stop()


@pytest.fixture
def low_backlog(settings, event_types, make_user):
    """5,000 low-priority emails on the email.low queue, nothing consuming them yet."""
    settings.EMAIL_BATCH_SIZE = BATCH
    User = get_user_model()
    users = User.objects.bulk_create(
        User(username=f"bulk{i}", email=f"bulk{i}@example.com", password="!") for i in range(LOW_EMAILS)
    )
    Profile.objects.bulk_create(Profile(user=user) for user in users)
    send = direct_send_create(
        caller=make_user("staff"),
        event_type=event_types["scenario.executed"],
        recipients=[user.pk for user in users],
        channels=["email"],
        priority="low",
    )
    # The fan-out task's body, here: its dispatch batches go on email.low (the fan-out
    # message it left on fanout.low finds the event done).
    fan_out_task.apply(args=[send.event_id]).get()
    assert Delivery.objects.filter(notification__event_id=send.event_id).count() == LOW_EMAILS
    return send


@pytest.fixture
def priority_worker(smtp_sink, low_backlog):
    reset_resilience_state()
    env = {
        "EMAIL_URL": smtp_sink.url,
        "EMAIL_PROVIDER": "smtp",
        "SENDGRID_API_KEY": "",
        "EMAIL_BATCH_SIZE": str(BATCH),
        "EMAIL_SMTP_PARALLEL_CONNECTIONS": "1",
        "DELIVERY_RETRY_BACKOFF_SECONDS": "0.2",
    }
    worker = Worker("priority", queues=QUEUES, concurrency=1, env=env).start(exclusive=True)
    yield worker
    worker.stop()


def sent(send: DirectSend) -> Delivery:
    """The send's delivery once the worker has recorded it sent (after the SMTP answer)."""
    return wait_until(
        lambda: (d := Delivery.objects.get(notification__event_id=send.event_id)).status == DeliveryStatus.SENT and d,
        timeout=30,
        message="the critical delivery recorded sent",
    )


def low_arrived(sink) -> int:
    return sum(1 for rcpt in sink.arrivals() if rcpt.startswith("bulk"))


def overtakes(sink, address: str) -> int:
    """Wait for `address`'s email (or for the whole backlog); returns how many low
    emails had arrived before it."""
    wait_until(
        lambda: address in sink.arrivals() or low_arrived(sink) >= LOW_EMAILS,
        timeout=180,
        message=f"{address}'s email or the end of the backlog",
    )
    arrivals = sink.arrivals()
    assert address in arrivals, "the critical email never arrived: its priority was lost on the way"
    before = sum(1 for rcpt in arrivals[: arrivals.index(address)] if rcpt.startswith("bulk"))
    print(f"{address}: {before} of {LOW_EMAILS} low emails arrived before it")  # noqa: T201 (shown with -s)
    return before


def backlog_flowing(sink) -> int:
    """The worker is busy with the backlog when the critical send comes."""
    wait_until(lambda: low_arrived(sink) >= 100, timeout=120, message="the low backlog flowing")
    return low_arrived(sink)


def critical_send(make_user, event_types, username: str, **fields) -> DirectSend:
    vip = make_user(username)
    return direct_send_create(
        caller=make_user(f"caller-{username}"),
        event_type=event_types["scenario.executed"],
        recipients=[vip.pk],
        channels=["email"],
        priority="critical",
        **fields,
    )


def test_a_critical_email_overtakes_5000_queued_low_ones(priority_worker, smtp_sink, make_user, event_types):
    at_send = backlog_flowing(smtp_sink)
    send = critical_send(make_user, event_types, "vip")
    before = overtakes(smtp_sink, "vip@example.com")
    assert at_send < LOW_EMAILS * 0.5  # the backlog was still long when it was sent
    assert before < LOW_EMAILS * 0.9
    assert sent(send).attempts == 1


def test_a_critical_email_retried_after_a_failure_still_overtakes(priority_worker, smtp_sink, make_user, event_types):
    at_send = backlog_flowing(smtp_sink)
    send = critical_send(make_user, event_types, "once-vip")  # refused (451) the first time
    before = overtakes(smtp_sink, "once-vip@example.com")
    assert at_send < LOW_EMAILS * 0.5
    assert before < LOW_EMAILS * 0.9
    delivery = sent(send)
    assert "once-vip@example.com" in smtp_sink.refused_once
    assert delivery.attempts == 2
    assert list(delivery.events.values_list("status", flat=True)) == [DeliveryStatus.PENDING, DeliveryStatus.SENT]


def test_a_critical_send_re_driven_by_the_outbox_relay_still_overtakes(
    priority_worker, smtp_sink, make_user, event_types, settings
):
    at_send = backlog_flowing(smtp_sink)
    # A send released from its schedule whose fan-out message was lost (the releasing
    # process died between its commit and the enqueue): only the relay can find it.
    send = critical_send(make_user, event_types, "relayed", scheduled_at=timezone.now() + timedelta(days=1))
    DirectSend.objects.filter(pk=send.pk).update(status=SendStatus.QUEUED)
    overdue = timezone.now() - timedelta(seconds=settings.OUTBOX_RELAY_GRACE_SECONDS + 1)
    Event.objects.filter(pk=send.event_id).update(created_at=overdue)
    time.sleep(0.5)
    assert not Delivery.objects.filter(notification__event_id=send.event_id).exists()  # nothing fanned it out

    assert outbox_relay() == 1  # the beat task's body
    before = overtakes(smtp_sink, "relayed@example.com")
    assert at_send < LOW_EMAILS * 0.5
    assert before < LOW_EMAILS * 0.9
    assert sent(send).attempts == 1
