"""Circuit breakers and rate limits shared through Redis, with a real worker:
email fails over to SMTP while SendGrid's circuit is open; SMS waits for Twilio's
circuit without using up attempts; a provider's rate limit spreads sends out."""

import pytest

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.resilience.circuit import OPEN, provider_circuit
from apps.notifications.publish import event_publish

from ..sinks import ProviderSink, SmtpSink
from ..worker import wait_until
from .providers import FINAL, TWILIO_SID, TWILIO_TOKEN, provider_worker, reset_resilience_state, wait_for_status

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def sinks():
    smtp, http = SmtpSink().start(), ProviderSink().start()
    yield smtp, http
    smtp.stop()
    http.stop()


@pytest.fixture(scope="module")
def resilient_worker(sinks, django_db_setup, django_db_blocker):
    smtp, http = sinks
    env = {
        "EMAIL_PROVIDER": "sendgrid",
        "SENDGRID_API_KEY": "SG.test-key",
        "SENDGRID_API_HOST": http.url,
        "EMAIL_URL": smtp.url,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": http.url,
        "DELIVERY_RETRY_BACKOFF_SECONDS": "0.2",
        "DELIVERY_MAX_ATTEMPTS_BY_CHANNEL": "email=5,sms=5",
        "CIRCUIT_FAILURE_THRESHOLD": "2",
        "CIRCUIT_COOLDOWN_SECONDS": "2",
        "PROVIDER_RATE_LIMITS": "twilio=5",
    }
    with django_db_blocker.unblock(), provider_worker("resilience", env) as worker:
        yield worker


@pytest.fixture(autouse=True)
def fresh_circuits():
    reset_resilience_state()


def publish_to(users, event_types, subscribe, channel, key="scenario.created"):
    for user in users:
        subscribe(user, event_types[key], channel=channel)
    event, _ = event_publish(event_type=key, data={"name": "Resilience"})
    return wait_until(
        lambda: (qs := Delivery.objects.filter(notification__event=event)).count() == len(users) and list(qs),
        message="deliveries",
    )


def test_email_fails_over_to_smtp_while_sendgrid_circuit_is_open(
    resilient_worker, sinks, event_types, make_user, subscribe
):
    smtp, http = sinks
    http.always_fail("fo@example.com", 500)
    [delivery] = publish_to([make_user("fo")], event_types, subscribe, Channel.EMAIL)
    delivery = wait_for_status(delivery.pk, FINAL)
    assert delivery.status == DeliveryStatus.SENT
    events = list(delivery.events.all())
    assert [(e.status, e.detail["provider"]) for e in events] == [
        ("pending", "sendgrid"),
        ("pending", "sendgrid"),
        ("sent", "smtp"),
    ]
    assert len(http.requests_for("fo@example.com")) == 2  # no call while open
    assert len(smtp.received("fo@example.com")) == 1
    assert provider_circuit("sendgrid").state() == OPEN


def test_sms_waits_for_an_open_circuit_without_using_attempts(
    resilient_worker, sinks, event_types, make_user, subscribe
):
    _, http = sinks
    number = "+14155550199"
    http.plan(number, [500, 500])
    [delivery] = publish_to([make_user("cb", phone=number)], event_types, subscribe, Channel.SMS)
    delivery = wait_for_status(delivery.pk, FINAL, timeout=30)
    assert delivery.status == DeliveryStatus.SENT
    events = list(delivery.events.all())
    statuses = [e.status for e in events]
    # Two failures open the circuit; then it is deferred (not an attempt) until the
    # cool-down lets a probe through, which succeeds.
    assert statuses[:2] == ["pending", "pending"] and statuses[-1] == "sent"
    deferred = events[2:-1]
    assert deferred and all(e.status == "deferred" and e.detail["reason"] == "circuit_open" for e in deferred)
    assert delivery.attempts == 3 and events[-1].detail["attempt"] == 3
    assert (events[-1].at - events[1].at).total_seconds() >= 1.5  # the cool-down
    assert len(http.requests_for(number)) == 3


def test_rate_limit_spreads_sends_and_costs_no_attempts(resilient_worker, sinks, event_types, make_user, subscribe):
    _, http = sinks
    users = [make_user(f"rl{i}", phone=f"+1415555030{i}") for i in range(10)]
    deliveries = publish_to(users, event_types, subscribe, Channel.SMS, key="scenario.executed")
    done = [wait_for_status(d.pk, FINAL, timeout=30) for d in deliveries]
    assert {d.status for d in done} == {DeliveryStatus.SENT}
    assert {d.attempts for d in done} == {1}
    deferred = [e for d in done for e in d.events.filter(status="deferred")]
    assert deferred and all(e.detail["reason"] == "rate_limited" for e in deferred)
    sent_at = sorted(d.sent_at for d in done)
    # 5 at once (the burst), the other 5 at 5/s: about a second later at the earliest.
    assert (sent_at[-1] - sent_at[0]).total_seconds() >= 0.8


def test_a_providers_retry_after_outweighs_a_shorter_backoff(
    resilient_worker, sinks, event_types, make_user, subscribe
):
    _, http = sinks
    http.plan("ra@example.com", [429])  # answered with Retry-After: 1
    [delivery] = publish_to([make_user("ra")], event_types, subscribe, Channel.EMAIL)
    delivery = wait_for_status(delivery.pk, FINAL)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
    throttled, sent = delivery.events.all()
    assert throttled.detail["status_code"] == 429
    # The backoff alone would wait at most 0.2 s.
    assert (sent.at - throttled.at).total_seconds() >= 1.0
