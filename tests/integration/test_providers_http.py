"""SendGrid and Twilio through their real SDKs, against a local server speaking their
APIs, with a real worker: answers recorded, retries with growing delays, permanent
failures, dead letters and requeue."""

import base64

import pytest
from django.core.management import call_command

from apps.accounts.models import Profile
from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.notifications.publish import event_publish

from ..sinks import ProviderSink, free_port
from ..worker import wait_until
from .providers import FINAL, TWILIO_SID, TWILIO_TOKEN, provider_worker, wait_for_status

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PUBLIC = "https://notify.example.com"


@pytest.fixture(scope="module")
def sink():
    server = ProviderSink().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http_worker(sink, django_db_setup, django_db_blocker):
    env = {
        "EMAIL_PROVIDER": "sendgrid",
        "SENDGRID_API_KEY": "SG.test-key",
        "SENDGRID_API_HOST": sink.url,
        # Nothing listens here: SMTP must not be used while SendGrid's circuit is closed.
        "EMAIL_URL": f"smtp://127.0.0.1:{free_port()}",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": sink.url,
        "PUBLIC_BASE_URL": PUBLIC,
        "DELIVERY_RETRY_BACKOFF_SECONDS": "1",
        "DELIVERY_MAX_ATTEMPTS_BY_CHANNEL": "email=3,sms=3",
        "CIRCUIT_FAILURE_THRESHOLD": "50",
    }
    with django_db_blocker.unblock(), provider_worker("http", env) as worker:
        yield worker


def deliver(event_types, make_user, subscribe, name, channel, phone=""):
    """One person subscribed on one channel, one event: the person's delivery."""
    key = "scenario.created"
    user = make_user(name, phone=phone) if phone else make_user(name)
    subscribe(user, event_types[key], channel=channel)
    event, _ = event_publish(event_type=key, data={"name": f"for {name}"})
    return wait_until(
        lambda: Delivery.objects.filter(notification__event=event, notification__user=user).first(),
        message="the delivery",
    )


def attempts_of(delivery):
    return list(delivery.events.order_by("at", "id"))


def test_sendgrid_delivery_through_the_sdk_is_recorded(http_worker, sink, event_types, make_user, subscribe):
    delivery = wait_for_status(deliver(event_types, make_user, subscribe, "sg-ok", Channel.EMAIL).pk, FINAL)
    assert delivery.status == DeliveryStatus.SENT
    [request] = sink.requests_for("sg-ok@example.com")
    assert request["headers"]["Authorization"] == "Bearer SG.test-key"
    body = request["body"]
    assert body["subject"] == 'Scenario "for sg-ok" created'
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    [personalization] = body["personalizations"]
    assert personalization["custom_args"] == {"delivery_id": str(delivery.pk)}
    link = personalization["headers"]["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{PUBLIC}/unsubscribe/")
    assert personalization["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The body is shared; each personalization fills in its own link.
    assert list(personalization["substitutions"].values()) == [link]
    assert list(personalization["substitutions"])[0] in body["content"][0]["value"]
    # The provider's answer is on the delivery.
    assert delivery.provider_message_id == request["message_id"]
    [sent] = attempts_of(delivery)
    assert sent.detail["status_code"] == 202 and sent.detail["x_message_id"] == request["message_id"]
    assert sent.detail["provider"] == "sendgrid"


def test_sendgrid_batches_recipients_of_one_event_into_one_request(
    http_worker, sink, event_types, make_user, subscribe
):
    deleted = event_types["scenario.deleted"]
    users = [make_user(f"sg-batch{i}") for i in range(4)]
    for user in users:
        subscribe(user, deleted, channel=Channel.EMAIL)
    event, _ = event_publish(event_type=deleted, data={"name": "Batch"})
    wait_until(
        lambda: Delivery.objects.filter(notification__event=event, status=DeliveryStatus.SENT).count() == 4,
        message="four sent",
    )
    requests = {id(r): r for u in users for r in sink.requests_for(u.email)}
    [request] = requests.values()
    assert sorted(request["recipients"]) == sorted(u.email for u in users)
    ids = {p["custom_args"]["delivery_id"] for p in request["body"]["personalizations"]}
    assert ids == {str(pk) for pk in Delivery.objects.filter(notification__event=event).values_list("pk", flat=True)}


def test_twilio_delivery_through_the_sdk_with_status_callback(http_worker, sink, event_types, make_user, subscribe):
    number = "+14155550101"
    delivery = deliver(event_types, make_user, subscribe, "tw-ok", Channel.SMS, phone=number)
    delivery = wait_for_status(delivery.pk, FINAL)
    assert delivery.status == DeliveryStatus.SENT
    [request] = sink.requests_for(number)
    assert request["path"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    auth = base64.b64decode(request["headers"]["Authorization"].split()[1]).decode()
    assert auth == f"{TWILIO_SID}:{TWILIO_TOKEN}"
    form = request["body"]
    assert form["To"] == number and form["From"] == "+15005550006"
    assert form["Body"].startswith('Scenario "for tw-ok" created')
    assert form["StatusCallback"] == f"{PUBLIC}/api/v1/webhooks/twilio/status/"
    assert delivery.provider_message_id == request["message_id"]
    [sent] = attempts_of(delivery)
    assert sent.detail["sid"] == request["message_id"] and sent.detail["status"] == "queued"


def test_500_500_then_success_delivers_on_the_third_attempt_with_growing_delays(
    http_worker, sink, event_types, make_user, subscribe
):
    sink.plan("sg-flaky@example.com", [500, 500])
    delivery = deliver(event_types, make_user, subscribe, "sg-flaky", Channel.EMAIL)
    delivery = wait_for_status(delivery.pk, FINAL)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    events = attempts_of(delivery)
    assert [(e.status, e.detail["attempt"], e.detail["status_code"]) for e in events] == [
        ("pending", 1, 500),
        ("pending", 2, 500),
        ("sent", 3, 202),
    ]
    assert [r["status"] for r in sink.requests_for("sg-flaky@example.com")] == [500, 500, 202]
    first_wait = (events[1].at - events[0].at).total_seconds()
    second_wait = (events[2].at - events[1].at).total_seconds()
    # Backoff 1 s: the first wait is in [0.5, 1], the second in [1, 2] (plus pick-up time).
    assert 0.45 <= first_wait < 1.5
    assert second_wait >= 0.95
    assert second_wait > first_wait


def test_400_fails_at_once(http_worker, sink, event_types, make_user, subscribe):
    number = "+14155550102"
    sink.plan(number, [400])
    delivery = deliver(event_types, make_user, subscribe, "tw-bad", Channel.SMS, phone=number)
    delivery = wait_for_status(delivery.pk, FINAL)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    [failed] = attempts_of(delivery)
    assert failed.detail["status_code"] == 400 and failed.detail["twilio_code"] == 21211
    assert "not a valid phone number" in failed.detail["body"]
    assert len(sink.requests_for(number)) == 1


def test_a_number_not_in_e164_fails_without_a_request(http_worker, sink, event_types, make_user, subscribe):
    user = make_user("tw-nonumber")
    Profile.objects.filter(user=user).update(phone="0800 123")  # as an old row might hold
    subscribe(user, event_types["scenario.executed"], channel=Channel.SMS)
    event, _ = event_publish(event_type="scenario.executed", data={"name": "x"})
    delivery = wait_until(lambda: Delivery.objects.filter(notification__event=event).first(), message="delivery")
    delivery = wait_for_status(delivery.pk, FINAL)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "no valid sms address for this person"
    assert not sink.requests_for("0800 123")


def test_always_failing_provider_ends_dead_and_is_sent_after_requeue(
    http_worker, sink, event_types, make_user, subscribe
):
    sink.always_fail("sg-down@example.com", 503)
    delivery = deliver(event_types, make_user, subscribe, "sg-down", Channel.EMAIL)
    delivery = wait_for_status(delivery.pk, FINAL, timeout=30)
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 3
    assert [e.status for e in attempts_of(delivery)] == ["pending", "pending", "dead"]
    assert [e.detail["status_code"] for e in attempts_of(delivery)] == [503, 503, 503]

    sink.always_fail("sg-down@example.com", None)
    call_command("requeue_dead", channel="email")
    delivery = wait_for_status(delivery.pk, DeliveryStatus.SENT)
    assert delivery.attempts == 1
    assert [e.status for e in attempts_of(delivery)][-2:] == ["pending", "sent"]
    assert attempts_of(delivery)[-2].detail == {"requeued_by": "requeue_dead"}
    assert [r["status"] for r in sink.requests_for("sg-down@example.com")] == [503, 503, 503, 202]
