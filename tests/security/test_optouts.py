"""Opt-outs and the suppression list hold on direct sends, tried as the people who
opted out would: through HTTP against a live server, with a real worker sending into a
real SMTP server on 127.0.0.1.

Every refusal is checked three ways: the API's answer, nothing at the SMTP server, and
the status timeline saying why.
"""

import base64
import json
import time
from datetime import timedelta

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone
from twilio.request_validator import RequestValidator

from apps.common.channels import Channel
from apps.common.services import api_key_create
from apps.delivery.models import Delivery, DeliveryStatus, Suppression
from apps.delivery.unsubscribe import unsubscribe_url
from apps.events.event_types import event_type_ensure
from apps.events.models import Event
from apps.notifications.models import DirectSend, DirectSendRecipient, UserNotification
from apps.subscriptions.models import Preference, Subscription

from ..delivery.provider_callbacks import sendgrid_live_post
from ..integration.providers import TWILIO_SID, TWILIO_TOKEN, provider_worker, smtp_env
from ..sinks import ProviderSink
from ..worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(
    SENDGRID_KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()


@pytest.fixture(scope="module")
def twilio_sink():
    sink = ProviderSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def smtp_worker(smtp_sink, twilio_sink, live_server, django_db_setup, django_db_blocker):
    """A worker on the fan-out and provider queues, mailing into the sink and texting
    through the Twilio stand-in; its links point at the live server, so a one-click
    link from a received email works there."""
    env = {
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": twilio_sink.url,
        **smtp_env(smtp_sink),
        "DEFAULT_FROM_EMAIL": "alerts@notify.example.com",
        "PUBLIC_BASE_URL": live_server.url,
    }
    with django_db_blocker.unblock(), provider_worker("optouts", env) as worker:
        yield worker


@pytest.fixture
def api(live_server, settings, smtp_worker):
    """POST/GET against the live server with a service's API key."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = SENDGRID_PUBLIC
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    _, raw = api_key_create(name="optout tests")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {raw}"

    class Api:
        url = live_server.url

        def post(self, path, body):
            return session.post(live_server.url + path, json=body, timeout=30)

        def get(self, path):
            return session.get(live_server.url + path, timeout=30)

    return Api()


@pytest.fixture
def news(db):
    return event_type_ensure(key="newsletter.issue", name="Newsletter issue")


@pytest.fixture
def password_reset(db):
    return event_type_ensure(key="account.password_reset", name="Password reset", critical=True)


def _quiet_now() -> dict:
    """A quiet window (UTC) around the current time."""
    now = timezone.now()
    return {"quiet_start": (now - timedelta(hours=1)).time(), "quiet_end": (now + timedelta(hours=1)).time()}


@pytest.fixture
def people(make_user, news, api):
    """One person per way of saying "not this", and one who said nothing (the control:
    their email proves the send went out)."""
    users = {
        name: make_user(f"{name}-{time.monotonic_ns()}")
        for name in ("control", "opted_out", "muted", "mute_until", "quiet", "digest", "unsubscribed")
    }
    # Everyone else is subscribed by email: a send without `channels` reaches them so.
    for name in ("control", "muted", "mute_until", "quiet", "digest"):
        Subscription.objects.create(user=users[name], event_type=news, channel=Channel.EMAIL)
    Subscription.objects.create(user=users["opted_out"], event_type=news, channel=Channel.EMAIL, enabled=False)
    Preference.objects.create(user=users["muted"], muted_channels=[Channel.EMAIL])
    Preference.objects.create(user=users["mute_until"], mute_until=timezone.now() + timedelta(days=1))
    Preference.objects.create(user=users["quiet"], **_quiet_now())
    Preference.objects.create(user=users["digest"], digest="daily")
    # The one-click link as an email carries it, posted the way a mail client does.
    subscription = Subscription.objects.create(user=users["unsubscribed"], event_type=news, channel=Channel.EMAIL)
    link = unsubscribe_url(user_id=users["unsubscribed"].pk, event_type_id=news.pk, channel=Channel.EMAIL)
    assert requests.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=30).status_code == 200
    subscription.refresh_from_db()
    assert subscription.enabled is False
    return users


# Why each one got nothing, as the timeline of their email delivery says it.
EXPECTED = {
    "opted_out": ("cancelled", "opted_out"),
    "muted": ("cancelled", "muted"),
    "mute_until": ("cancelled", "muted"),
    "quiet": ("held", "quiet_hours"),
    "digest": ("held", "digest"),
    "unsubscribed": ("cancelled", "opted_out"),
}


def _email_deliveries(send_ids):
    return {
        d.notification.user.email if d.notification.user_id else d.notification.address: d
        for d in Delivery.objects.filter(
            notification__event__direct_send__in=send_ids, channel=Channel.EMAIL
        ).select_related("notification__user")
    }


def _wait_sent(smtp_sink, address):
    return wait_until(lambda: smtp_sink.received(address), timeout=60, message=f"the email to {address}")


def _timeline(api, send_id, *, user_id=None, address=None):
    body = api.get(f"/api/v1/notifications/{send_id}/").json()
    [recipient] = [r for r in body["recipients"] if r["user_id"] == user_id and r["address"] == address]
    return recipient


def _send_single(api, news, ids):
    response = api.post(
        "/api/v1/notifications/",
        {"event_type": news.key, "recipients": ids, "channels": ["email"], "data": {"name": "Issue 7"}},
    )
    assert response.status_code == 202, response.text
    return [response.json()["id"]]


def _send_bulk(api, news, ids):
    items = [{"event_type": news.key, "recipients": [i], "channels": ["email"], "data": {}} for i in ids]
    response = api.post("/api/v1/notifications/bulk/", {"notifications": items})
    assert response.status_code == 202, response.text
    return response.json()["ids"]


def _send_by_subscriptions(api, news, ids):
    response = api.post("/api/v1/notifications/", {"event_type": news.key, "recipients": ids})
    assert response.status_code == 202, response.text
    return [response.json()["id"]]


def _send_template(api, news, ids):
    template = api.post(
        "/api/v1/templates/",
        {"event_type": news.key, "channel": "email", "locale": "en", "subject": "Issue", "body": "Read it."},
    )
    assert template.status_code == 201, template.text
    response = api.post("/api/v1/notifications/", {"template": template.json()["id"], "recipients": ids})
    assert response.status_code == 202, response.text
    return [response.json()["id"]]


@pytest.mark.parametrize(
    "send",
    [_send_single, _send_bulk, _send_template, _send_by_subscriptions],
    ids=["single", "bulk", "template", "subscriptions"],
)
def test_direct_sends_honour_every_opt_out(api, smtp_sink, news, people, send):
    send_ids = send(api, news, [user.pk for user in people.values()])

    control = people["control"]
    _wait_sent(smtp_sink, control.email)
    deliveries = wait_until(
        lambda: (d := _email_deliveries(send_ids)) and len(d) == len(people) and d,
        message="a delivery per person",
    )
    assert deliveries[control.email].status in (DeliveryStatus.SENDING, DeliveryStatus.SENT)
    for name, (kind, reason) in EXPECTED.items():
        user = people[name]
        assert smtp_sink.received(user.email) == [], f"{name} was mailed"
        delivery = deliveries[user.email]
        expected_status = DeliveryStatus.CANCELLED if kind == "cancelled" else DeliveryStatus.PENDING
        assert delivery.status == expected_status, name
        send_id = DirectSend.objects.get(event_id=delivery.notification.event_id).pk
        [email] = _timeline(api, send_id, user_id=user.pk)["deliveries"]
        assert email["channel"] == "email" and email["status"] == expected_status
        assert [(e["type"], e["detail"].get("reason")) for e in email["events"]][-1] == (kind, reason), name
        if reason == "quiet_hours":
            assert email["events"][-1]["detail"]["until"]


def test_a_critical_event_type_passes_every_opt_out(api, smtp_sink, password_reset, people):
    # The same people, opted out of the newsletter: a critical type (transactional) passes.
    for user in people.values():
        Subscription.objects.create(user=user, event_type=password_reset, channel=Channel.EMAIL, enabled=False)
    response = api.post(
        "/api/v1/notifications/",
        {"event_type": password_reset.key, "recipients": [u.pk for u in people.values()], "channels": ["email"]},
    )
    assert response.status_code == 202, response.text
    for user in people.values():
        _wait_sent(smtp_sink, user.email)


def test_an_address_that_is_no_user_gets_the_email_with_a_timeline(api, smtp_sink, password_reset):
    address = f"new-{time.monotonic_ns()}@example.com"
    response = api.post(
        "/api/v1/notifications/",
        {"event_type": password_reset.key, "recipients": [{"email": address.upper()}], "data": {"name": "Reset"}},
    )
    assert response.status_code == 202, response.text
    send_id = response.json()["id"]
    [message] = _wait_sent(smtp_sink, address)
    assert message["To"] == address

    def sent():
        recipient = _timeline(api, send_id, address=address)
        return recipient["deliveries"] and recipient["deliveries"][0]["status"] == "sent" and recipient

    recipient = wait_until(sent, message="the timeline to say sent")
    # Only the address's own channel, and no inbox item.
    [delivery] = recipient["deliveries"]
    assert delivery["channel"] == "email"
    assert [e["type"] for e in delivery["events"]] == ["pending", "sent"]
    assert recipient["user_id"] is None
    assert not UserNotification.objects.filter(event__direct_send=send_id, in_inbox=True).exists()


def test_activation_mail_by_template_to_an_address(api, smtp_sink, password_reset):
    """The seed's case: a stored template, sent to someone who is no user yet."""
    template = api.post(
        "/api/v1/templates/",
        {
            "event_type": password_reset.key,
            "channel": "email",
            "locale": "en",
            "subject": "Reset your password",
            "body": "{{ recipient.email }}: follow {{ data.link }} to reset it.",
        },
    )
    assert template.status_code == 201, template.text
    address = f"someone-{time.monotonic_ns()}@example.com"
    response = api.post(
        "/api/v1/notifications/",
        {"template": template.json()["id"], "recipients": [{"email": address}], "data": {"link": "https://x.test/r"}},
    )
    assert response.status_code == 202, response.text
    [message] = _wait_sent(smtp_sink, address)
    assert message["Subject"] == "Reset your password"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert f"{address}: follow https://x.test/r to reset it." in text


def _counts():
    return (
        Event.objects.count(),
        DirectSend.objects.count(),
        DirectSendRecipient.objects.count(),
        UserNotification.objects.count(),
        Delivery.objects.count(),
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"email": "not-an-address"},
        {"email": "two@@example.com"},
        {"email": "a@b@example.com"},
        {"email": ""},
        {"email": 7},
        {"phone": "0044 20 7946 0000"},
        {"phone": "+0123456789"},
        {"phone": "+14155"},
        {"phone": "+1 415 555 0100"},
        {"fax": "+14155550100"},
        {"email": "x@example.com", "phone": "+14155550100"},
        "x@example.com",
        True,
    ],
)
def test_invalid_addresses_are_refused_and_nothing_is_written(api, smtp_sink, news, make_user, bad):
    good = make_user()
    before, mailed = _counts(), len(smtp_sink.messages)
    single = api.post(
        "/api/v1/notifications/",
        {"event_type": news.key, "recipients": [good.pk, {"email": "fine@example.com"}, bad]},
    )
    assert single.status_code == 400, single.text
    error = single.json()["error"]
    assert error["code"] and error["message"]
    assert list(error["details"]["recipients"]) == ["2"]  # the bad one, by its position
    bulk = api.post(
        "/api/v1/notifications/bulk/",
        {
            "notifications": [
                {"event_type": news.key, "recipients": [good.pk]},
                {"event_type": news.key, "recipients": [bad]},
            ]
        },
    )
    assert bulk.status_code == 400, bulk.text
    assert list(bulk.json()["error"]["details"]["notifications"]) == ["1"]
    time.sleep(0.5)
    assert _counts() == before and len(smtp_sink.messages) == mailed


def test_an_address_needs_its_channel_among_the_channels(api, news):
    before = _counts()
    response = api.post(
        "/api/v1/notifications/",
        {"event_type": news.key, "recipients": [{"phone": "+14155550100"}], "channels": ["email"]},
    )
    assert response.status_code == 400, response.text
    assert "sms" in json.dumps(response.json()["error"]["details"])
    assert _counts() == before


def _sendgrid(api, events, key=SENDGRID_KEY):
    return sendgrid_live_post(api.url, events, key, signed_at=int(time.time()), timeout=30)


def _send_to(api, event_type, recipient):
    response = api.post("/api/v1/notifications/", {"event_type": event_type.key, "recipients": [recipient]})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _suppressed_timeline(api, send_id, **recipient):
    def cancelled():
        deliveries = _timeline(api, send_id, **recipient)["deliveries"]
        return deliveries and deliveries[0]["status"] == "cancelled" and deliveries[0]

    delivery = wait_until(cancelled, message="the delivery to be cancelled")
    assert (delivery["events"][-1]["type"], delivery["events"][-1]["detail"]) == (
        "cancelled",
        {"reason": "suppressed"},
    )


def test_a_hard_bounce_suppresses_the_address_for_non_critical_sends(api, smtp_sink, news, password_reset):
    address = f"bouncy-{time.monotonic_ns()}@example.com"
    first = _send_to(api, news, {"email": address})
    _wait_sent(smtp_sink, address)
    delivery = Delivery.objects.get(notification__event__direct_send=first)
    bounce = {
        "event": "bounce",
        "type": "bounce",
        "email": address,
        "delivery_id": delivery.pk,
        "sg_event_id": f"bounce-{delivery.pk}",
        "reason": "550 5.1.1 no such user",
        "timestamp": int(time.time()),
    }
    # A forged callback (not signed by SendGrid's key) is refused and suppresses nothing.
    forged = _sendgrid(api, [bounce], key=ec.generate_private_key(ec.SECP256R1()))
    assert forged.status_code == 403
    assert not Suppression.objects.filter(address=address).exists()

    assert _sendgrid(api, [bounce]).status_code == 204
    suppression = Suppression.objects.get(address=address)
    assert (suppression.channel, suppression.reason) == ("email", "bounced")

    mailed = len(smtp_sink.received(address))
    later = _send_to(api, news, {"email": address})
    _suppressed_timeline(api, later, address=address)
    # The critical one still goes, after the suppressed one would have.
    _send_to(api, password_reset, {"email": address})
    wait_until(lambda: len(smtp_sink.received(address)) == mailed + 1, timeout=60, message="the critical email")
    assert len(smtp_sink.received(address)) == mailed + 1


@pytest.mark.parametrize(
    ("event", "reason"),
    [({"event": "bounce", "type": "bounce"}, "bounced"), ({"event": "spamreport"}, "spam_report")],
    ids=["hard-bounce", "spam-report"],
)
def test_a_bounce_on_a_persons_own_email_suppresses_it(api, smtp_sink, news, make_user, event, reason):
    alice = make_user(f"alice-{time.monotonic_ns()}")
    callback = {**event, "email": alice.email.upper(), "sg_event_id": f"{reason}-{alice.pk}"}
    assert _sendgrid(api, [callback]).status_code == 204
    assert Suppression.objects.get(address=alice.email).reason == reason
    send_id = api.post(
        "/api/v1/notifications/", {"event_type": news.key, "recipients": [alice.pk], "channels": ["email"]}
    ).json()["id"]
    _suppressed_timeline(api, send_id, user_id=alice.pk)
    assert smtp_sink.received(alice.email) == []


def test_a_soft_bounce_suppresses_nothing(api, news):
    address = f"soft-{time.monotonic_ns()}@example.com"
    assert _sendgrid(api, [{"event": "bounce", "type": "blocked", "email": address}]).status_code == 204
    assert _sendgrid(api, [{"event": "delivered", "email": address}]).status_code == 204
    assert not Suppression.objects.filter(address=address).exists()


def test_one_click_unsubscribe_from_an_address_send_suppresses_it(api, smtp_sink, news):
    address = f"leaver-{time.monotonic_ns()}@example.com"
    _send_to(api, news, {"email": address})
    [message] = _wait_sent(smtp_sink, address)
    link = message["List-Unsubscribe"].strip().strip("<>")
    assert link.startswith(api.url + "/unsubscribe/")
    # A GET (a link scanner) changes nothing; a tampered token is refused.
    assert requests.get(link, timeout=30).status_code == 200
    assert requests.post(link[:-3] + "xx/", timeout=30).status_code == 400
    assert not Suppression.objects.filter(address=address).exists()
    assert requests.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=30).status_code == 200
    assert Suppression.objects.get(address=address).reason == "unsubscribed"

    later = _send_to(api, news, {"email": address})
    _suppressed_timeline(api, later, address=address)
    assert len(smtp_sink.received(address)) == 1


def _twilio(api, params, token=TWILIO_TOKEN):
    path = "/api/v1/webhooks/twilio/status/"
    signature = RequestValidator(token).compute_signature(api.url + path, params)
    return requests.post(api.url + path, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)


def test_a_number_that_replied_stop_gets_no_more_non_critical_sms(api, twilio_sink, news, password_reset, make_user):
    number = f"+1415{time.monotonic_ns() % 10_000_000:07d}"
    first = _send_to(api, news, {"phone": number})
    wait_until(lambda: twilio_sink.requests_for(number), timeout=60, message="the SMS at Twilio")

    def sent():
        recipient = _timeline(api, first, address=number)
        return recipient["deliveries"] and recipient["deliveries"][0]["status"] == "sent" and recipient

    [sms] = wait_until(sent, message="the SMS to be sent")["deliveries"]  # SMS only, no inbox item
    assert sms["channel"] == "sms"
    sid = Delivery.objects.get(pk=sms["id"]).provider_message_id
    stop = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "21610", "To": number}
    # Forged: refused, nothing written.
    assert _twilio(api, stop, token="not-the-token").status_code == 403
    assert not Suppression.objects.filter(address=number).exists()
    assert _twilio(api, stop).status_code == 204
    assert Suppression.objects.get(address=number).reason == "opted_out"

    later = _send_to(api, news, {"phone": number})
    _suppressed_timeline(api, later, address=number)
    # A person whose own phone is that number is covered too.
    owner = make_user(phone=number)
    send_id = api.post(
        "/api/v1/notifications/", {"event_type": news.key, "recipients": [owner.pk], "channels": ["sms"]}
    ).json()["id"]
    _suppressed_timeline(api, send_id, user_id=owner.pk)
    texted = len(twilio_sink.requests_for(number))
    _send_to(api, password_reset, {"phone": number})
    wait_until(lambda: len(twilio_sink.requests_for(number)) == texted + 1, timeout=60, message="the critical SMS")
    assert len(twilio_sink.requests_for(number)) == texted + 1
