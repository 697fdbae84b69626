"""A resent delivery carries the same identity to its receiver as the first send, so the
receiver can drop the copy: the email's Message-ID, SendGrid's custom arg, the push
payload's id (the webhook-id is tested with the webhook channel). Each is sent twice to a
real server on 127.0.0.1 (a forced retry, or the resend that follows a crash) and the two
arrivals are compared there."""

import pytest
from django.test import override_settings

from apps.common.channels import Channel
from apps.delivery.dispatch import deliveries_dispatch
from apps.delivery.models import Delivery, DeliveryStatus

from ..channels.conftest import fan_out  # noqa: F401
from ..http_receiver import Answer, Receiver
from ..sinks import ProviderSink, SmtpSink
from ..web_push_browser import Browser

pytestmark = pytest.mark.django_db


def dispatch(channel: str, delivery) -> dict:
    return deliveries_dispatch(channel_key=channel, delivery_ids=[delivery.pk]).steps


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=sink.port,
        EMAIL_PROVIDER="smtp",
        SENDGRID_API_KEY="",
        DEFAULT_FROM_EMAIL="alerts@notify.example.com",
    ):
        yield sink
    sink.stop()


def test_an_email_sent_again_after_a_lost_record_has_the_same_message_id(make_user, fan_out, smtp, settings):  # noqa: F811
    settings.EMAIL_MESSAGE_ID_DOMAIN = "mail.notify.example.com"
    ann, bob = make_user("ann"), make_user("bob")
    deliveries = fan_out([ann, bob], Channel.EMAIL)
    delivery = deliveries[ann.pk]
    assert dispatch("email", delivery)["sent"] == [delivery.pk]
    # What a worker killed before recording leaves: the acceptance lost, the delivery
    # sent again by the recovery.
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING)
    assert dispatch("email", delivery)["sent"] == [delivery.pk]
    assert dispatch("email", deliveries[bob.pk])["sent"] == [deliveries[bob.pk].pk]

    first, again = smtp.received("ann@example.com")
    assert first["Message-ID"] == again["Message-ID"] == f"<delivery-{delivery.pk}@mail.notify.example.com>"
    assert Delivery.objects.get(pk=delivery.pk).provider_message_id == first["Message-ID"]
    # Another delivery, another identity.
    [other] = smtp.received("bob@example.com")
    assert other["Message-ID"] != first["Message-ID"]


def test_the_message_id_domain_defaults_to_the_from_address(make_user, fan_out, smtp, settings):  # noqa: F811
    settings.EMAIL_MESSAGE_ID_DOMAIN = ""
    ann = make_user("ann")
    delivery = fan_out([ann], Channel.EMAIL)[ann.pk]
    dispatch("email", delivery)
    [message] = smtp.received("ann@example.com")
    assert message["Message-ID"] == f"<delivery-{delivery.pk}@notify.example.com>"


def test_a_sendgrid_retry_carries_the_same_delivery_id(make_user, fan_out):  # noqa: F811
    sink = ProviderSink().start()
    try:
        with override_settings(EMAIL_PROVIDER="sendgrid", SENDGRID_API_KEY="SG.test-key", SENDGRID_API_HOST=sink.url):
            cid = make_user("cid")
            delivery = fan_out([cid], Channel.EMAIL)[cid.pk]
            sink.plan("cid@example.com", [503])
            assert dispatch("email", delivery)["retry"] == [delivery.pk]
            assert dispatch("email", delivery)["sent"] == [delivery.pk]
    finally:
        sink.stop()
    first, again = sink.requests_for("cid@example.com")
    assert (first["status"], again["status"]) == (503, 202)
    args = [request["body"]["personalizations"][0]["custom_args"] for request in (first, again)]
    assert args == [{"delivery_id": str(delivery.pk)}] * 2


def test_a_push_retry_carries_the_same_payload_id(make_user, client_for, fan_out):  # noqa: F811
    dee = make_user("dee")
    browser = Browser()
    with Receiver(Answer(503), Answer(201)) as push_service:
        browser.subscribe(client_for(dee), push_service.url("/push/dee"))
        delivery = fan_out([dee], Channel.PUSH)[dee.pk]
        assert dispatch("push", delivery)["retry"] == [delivery.pk]
        assert dispatch("push", delivery)["sent"] == [delivery.pk]
    first, again = (browser.decrypt(request.body) for request in push_service.requests)
    assert first["id"] == again["id"] == f"dlv_{delivery.pk}"
