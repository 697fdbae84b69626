"""Provider callbacks: signatures computed the way Twilio and SendGrid compute them."""

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from twilio.request_validator import RequestValidator

from apps.common.channels import Channel
from apps.delivery.models import DeliveryEvent, DeliveryStatus

from .factories import make_delivery
from .provider_callbacks import PUBLIC, SENDGRID_PATH, TOKEN, TWILIO_PATH, history, sendgrid_post, twilio_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_delivery(make_user, event_types):
    return make_delivery(make_user(), event_types["scenario.created"], Channel.SMS, provider_message_id="SM" + "a" * 32)


@pytest.fixture
def email_delivery(make_user, event_types):
    return make_delivery(make_user(), event_types["scenario.created"], Channel.EMAIL, provider_message_id="xMsgId123")


def test_twilio_delivered_callback_moves_the_delivery_once(provider_settings, sms_delivery):
    params = {"MessageSid": sms_delivery.provider_message_id, "MessageStatus": "delivered", "AccountSid": "AC1"}
    assert twilio_post(params).status_code == 204
    assert twilio_post(params).status_code == 204  # Twilio may call again
    sms_delivery.refresh_from_db()
    assert sms_delivery.status == DeliveryStatus.DELIVERED
    assert history(sms_delivery) == ["delivered"]


def test_twilio_undelivered_callback_fails_the_delivery_with_the_error(provider_settings, sms_delivery):
    params = {"MessageSid": sms_delivery.provider_message_id, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert twilio_post(params).status_code == 204
    sms_delivery.refresh_from_db()
    assert sms_delivery.status == DeliveryStatus.FAILED
    assert sms_delivery.last_error == "Twilio error 30003"
    [event] = sms_delivery.events.all()
    assert event.detail["error_code"] == "30003"


@pytest.mark.parametrize("kind", ["missing", "garbage", "other token"])
def test_twilio_callback_with_a_bad_or_missing_signature_is_refused(provider_settings, sms_delivery, kind):
    params = {"MessageSid": sms_delivery.provider_message_id, "MessageStatus": "delivered"}
    signature = {
        "missing": "",
        "garbage": "bm90IGEgc2lnbmF0dXJl",
        "other token": RequestValidator("another-token").compute_signature(PUBLIC + TWILIO_PATH, params),
    }[kind]
    response = twilio_post(params, signature=signature)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "bad_signature"
    sms_delivery.refresh_from_db()
    assert sms_delivery.status == DeliveryStatus.SENT and history(sms_delivery) == []


def test_twilio_signature_over_other_params_is_refused(provider_settings, sms_delivery):
    signed = {"MessageSid": sms_delivery.provider_message_id, "MessageStatus": "sent"}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + TWILIO_PATH, signed)
    response = twilio_post({**signed, "MessageStatus": "failed"}, signature=signature)
    assert response.status_code == 403
    assert DeliveryEvent.objects.count() == 0


def test_sendgrid_events_move_and_record_by_delivery_id(sendgrid_key, email_delivery):
    base = {"email": "x@example.com", "timestamp": 1700000000, "delivery_id": str(email_delivery.pk)}
    sg_message_id = f"{email_delivery.provider_message_id}.filter0001.1234.0"
    events = [
        {**base, "event": "processed", "sg_event_id": "e0", "sg_message_id": sg_message_id},
        {**base, "event": "delivered", "sg_event_id": "e1", "sg_message_id": sg_message_id},
        {**base, "event": "open", "sg_event_id": "e2", "sg_message_id": sg_message_id},
        {**base, "event": "click", "sg_event_id": "e3", "sg_message_id": sg_message_id, "url": "https://x.test/a"},
    ]
    assert sendgrid_post(events, sendgrid_key).status_code == 204
    assert sendgrid_post(events, sendgrid_key).status_code == 204  # a redelivered batch
    email_delivery.refresh_from_db()
    assert email_delivery.status == DeliveryStatus.DELIVERED
    assert history(email_delivery) == ["delivered", "opened", "clicked"]
    clicked = email_delivery.events.get(status="clicked")
    assert clicked.detail["url"] == "https://x.test/a" and clicked.detail["sg_event_id"] == "e3"


def test_sendgrid_bounce_fails_and_a_foreign_message_id_is_ignored(sendgrid_key, email_delivery):
    events = [
        {
            "event": "bounce",
            "delivery_id": str(email_delivery.pk),
            "sg_event_id": "b1",
            "sg_message_id": f"{email_delivery.provider_message_id}.f.1",
            "reason": "550 5.1.1 unknown user",
        },
        # Claims our delivery but belongs to another send: not applied.
        {"event": "open", "delivery_id": str(email_delivery.pk), "sg_event_id": "o9", "sg_message_id": "other.f.1"},
    ]
    assert sendgrid_post(events, sendgrid_key).status_code == 204
    email_delivery.refresh_from_db()
    assert email_delivery.status == DeliveryStatus.FAILED
    assert "550 5.1.1 unknown user" in email_delivery.last_error
    assert history(email_delivery) == ["failed"]


def test_sendgrid_bad_signature_is_refused_and_writes_nothing(sendgrid_key, email_delivery):
    events = [{"event": "delivered", "delivery_id": str(email_delivery.pk), "sg_event_id": "e1"}]
    assert sendgrid_post(events, sendgrid_key, tamper=True).status_code == 403
    other_key = ec.generate_private_key(ec.SECP256R1())
    assert sendgrid_post(events, other_key).status_code == 403
    missing = Client().post(SENDGRID_PATH, json.dumps(events), content_type="application/json")
    assert missing.status_code == 403
    garbage = Client().post(
        SENDGRID_PATH,
        json.dumps(events),
        content_type="application/json",
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE="%%%not base64",
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP="1",
    )
    assert garbage.status_code == 403
    email_delivery.refresh_from_db()
    assert email_delivery.status == DeliveryStatus.SENT and history(email_delivery) == []


def test_sendgrid_signed_body_that_is_not_an_event_list_is_a_400(sendgrid_key, email_delivery):
    response = sendgrid_post({"event": "delivered"}, sendgrid_key)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert DeliveryEvent.objects.count() == 0


def test_callbacks_take_only_post(provider_settings):
    assert Client().get(TWILIO_PATH).status_code == 405
    assert Client().get(SENDGRID_PATH).status_code == 405
