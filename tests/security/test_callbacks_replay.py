"""Provider callbacks as an attacker would send them, to a live server: a replayed
SendGrid batch (validly signed, too old) and callbacks that would move a delivery
backwards. Signatures are made the way Twilio and SendGrid make them."""

import base64
import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus

from ..delivery.factories import make_delivery
from ..delivery.provider_callbacks import PUBLIC, TOKEN, TWILIO_PATH, sendgrid_live_post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sendgrid_key(settings):
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = base64.b64encode(der).decode()
    settings.SENDGRID_WEBHOOK_MAX_AGE_SECONDS = 600
    return private


@pytest.fixture
def twilio_settings(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TWILIO_AUTH_TOKEN = TOKEN


def sendgrid_send(live_server, key, events, signed_at: int):
    return sendgrid_live_post(live_server.url, events, key, signed_at=signed_at)


def twilio_send(live_server, params):
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + TWILIO_PATH, params)
    return requests.post(
        live_server.url + TWILIO_PATH, data=params, headers={"X-Twilio-Signature": signature}, timeout=10
    )


@pytest.fixture
def email_delivery(make_user, event_types):
    return make_delivery(make_user(), event_types["scenario.created"], Channel.EMAIL, provider_message_id="xMsgId1")


@pytest.fixture
def sms_delivery(make_user, event_types):
    return make_delivery(make_user(), event_types["scenario.created"], Channel.SMS, provider_message_id="SM" + "b" * 32)


def bounce(delivery, event_id="ev-bounce"):
    return [{"event": "bounce", "delivery_id": str(delivery.pk), "sg_event_id": event_id, "reason": "550 no"}]


@pytest.mark.parametrize("age", [601, 3600, 86_400 * 30])
def test_a_signed_sendgrid_batch_older_than_the_window_is_refused(live_server, sendgrid_key, email_delivery, age):
    response = sendgrid_send(live_server, sendgrid_key, bounce(email_delivery), signed_at=int(time.time()) - age)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "stale_signature"
    assert response.json()["error"]["details"] == {"max_age_seconds": 600}
    email_delivery.refresh_from_db()
    assert email_delivery.status == DeliveryStatus.SENT
    assert not DeliveryEvent.objects.exists()


def test_a_timestamp_far_in_the_future_is_refused_too(live_server, sendgrid_key, email_delivery):
    response = sendgrid_send(live_server, sendgrid_key, bounce(email_delivery), signed_at=int(time.time()) + 3600)
    assert response.status_code == 403 and response.json()["error"]["code"] == "stale_signature"
    assert not DeliveryEvent.objects.exists()


def test_the_same_batch_inside_the_window_is_applied_and_the_window_is_a_setting(
    live_server, sendgrid_key, email_delivery, settings
):
    just_inside = int(time.time()) - 590
    response = sendgrid_send(live_server, sendgrid_key, bounce(email_delivery), signed_at=just_inside)
    assert response.status_code == 204
    email_delivery.refresh_from_db()
    assert email_delivery.status == DeliveryStatus.FAILED

    settings.SENDGRID_WEBHOOK_MAX_AGE_SECONDS = 60
    other = make_delivery(email_delivery.notification.user, email_delivery.notification.event.event_type, Channel.EMAIL)
    response = sendgrid_send(live_server, sendgrid_key, bounce(other, "ev-2"), signed_at=int(time.time()) - 120)
    assert response.status_code == 403
    assert Delivery.objects.get(pk=other.pk).status == DeliveryStatus.SENT


def test_a_tampered_old_timestamp_does_not_pass_as_a_fresh_one(live_server, sendgrid_key, email_delivery):
    """The replay window reads the signed timestamp: rewriting it to now breaks the signature."""
    response = sendgrid_live_post(
        live_server.url,
        bounce(email_delivery),
        sendgrid_key,
        signed_at=int(time.time()) - 3600,
        sent_timestamp=str(int(time.time())),
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "bad_signature"
    assert not DeliveryEvent.objects.exists()


def test_twilio_sent_after_delivered_does_not_move_back_or_record(live_server, twilio_settings, sms_delivery):
    sid = sms_delivery.provider_message_id
    assert twilio_send(live_server, {"MessageSid": sid, "MessageStatus": "delivered"}).status_code == 204
    # Twilio calls back per status and does not promise the order: "sent" can come last.
    for late in ("sent", "queued", "sending"):
        assert twilio_send(live_server, {"MessageSid": sid, "MessageStatus": late}).status_code == 204

    sms_delivery.refresh_from_db()
    assert sms_delivery.status == DeliveryStatus.DELIVERED
    assert list(sms_delivery.events.values_list("status", flat=True)) == ["delivered"]


def test_twilio_steps_before_delivered_are_kept_in_order(live_server, twilio_settings, sms_delivery):
    sid = sms_delivery.provider_message_id
    for step in ("sent", "delivered"):
        assert twilio_send(live_server, {"MessageSid": sid, "MessageStatus": step}).status_code == 204
    sms_delivery.refresh_from_db()
    assert sms_delivery.status == DeliveryStatus.DELIVERED
    assert list(sms_delivery.events.order_by("pk").values_list("status", flat=True)) == ["provider_sent", "delivered"]


def test_delivered_after_failed_does_not_revive_the_delivery(live_server, sendgrid_key, email_delivery):
    now = int(time.time())
    assert sendgrid_send(live_server, sendgrid_key, bounce(email_delivery), signed_at=now).status_code == 204
    late = [{"event": "delivered", "delivery_id": str(email_delivery.pk), "sg_event_id": "ev-late"}]
    assert sendgrid_send(live_server, sendgrid_key, late, signed_at=now).status_code == 204
    email_delivery.refresh_from_db()
    assert email_delivery.status == DeliveryStatus.FAILED
    assert list(email_delivery.events.values_list("status", flat=True)) == ["failed"]


@pytest.mark.parametrize("verdict", [DeliveryStatus.DEAD, DeliveryStatus.CANCELLED, DeliveryStatus.PENDING])
def test_no_callback_moves_a_delivery_out_of_the_services_states(live_server, twilio_settings, sms_delivery, verdict):
    Delivery.objects.filter(pk=sms_delivery.pk).update(status=verdict)
    for status in ("delivered", "failed"):
        params = {"MessageSid": sms_delivery.provider_message_id, "MessageStatus": status}
        assert twilio_send(live_server, params).status_code == 204
    sms_delivery.refresh_from_db()
    assert sms_delivery.status == verdict
    assert not sms_delivery.events.exists()
