"""The push channel against a real HTTP server on 127.0.0.1 acting as the push service.
The test holds the browser's side: it makes the subscription key pair, decrypts the
RFC 8291 aes128gcm payload with http_ece and checks the VAPID (RFC 8292) JWT itself."""

import struct

import pytest
from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.test import override_settings

from apps.accounts.models import PushSubscription
from apps.common.channels import Channel
from apps.delivery.dispatch import deliveries_dispatch
from apps.delivery.models import Delivery, DeliveryStatus

from ..http_receiver import Answer, Receiver
from ..web_push_browser import Browser, verify_vapid

pytestmark = pytest.mark.django_db


def dispatch(*deliveries):
    return deliveries_dispatch(channel_key="push", delivery_ids=[d.pk for d in deliveries]).steps


def test_push_is_an_encrypted_vapid_signed_request_the_browser_can_read(make_user, client_for, fan_out):
    ann = make_user("ann")
    browser = Browser()
    accepted = Answer(201, headers={"Location": "http://localhost/messages/m-1"}, body=b"")
    with Receiver(accepted) as push_service:
        browser.subscribe(client_for(ann), push_service.url("/push/device-1"))
        delivery = fan_out([ann], Channel.PUSH, data={"name": "Checkout"})[ann.pk]
        assert dispatch(delivery)["sent"] == [delivery.pk]

    [request] = push_service.requests
    assert request.path == "/push/device-1"
    assert request.headers["content-encoding"] == "aes128gcm"
    assert request.headers["ttl"] == str(settings.PUSH_TTL_SECONDS)
    assert request.headers["urgency"] == "normal"
    verify_vapid(request.headers["authorization"], audience=f"http://localhost:{push_service.port}")
    # RFC 8188 header: 16-byte salt, record size, key id = the sender's ephemeral P-256 key.
    salt, record_size, key_id_length = request.body[:16], *struct.unpack("!IB", request.body[16:21])
    assert len(salt) == 16 and record_size == 4096 and key_id_length == 65
    assert b"Checkout" not in request.body  # encrypted, not plain
    message = browser.decrypt(request.body)
    assert message["event_type"] == "scenario.created"
    assert message["data"] == {"name": "Checkout"}
    assert message["title"] and message["notification_id"] == delivery.notification_id
    # Another key pair cannot read it.
    with pytest.raises(Exception):  # noqa: B017 (http_ece raises cryptography's InvalidTag)
        Browser().decrypt(request.body)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_message_id == "http://localhost/messages/m-1"
    [target] = delivery.events.get(status=DeliveryStatus.SENT).detail["targets"]
    assert target["status"] == 201


def test_a_forged_vapid_token_does_not_verify():
    """The check above can fail: a token signed by another key is refused."""
    from apps.delivery.channels.push import vapid_keys_generate, vapid_signer

    _, other_private = vapid_keys_generate()
    header = vapid_signer(other_private).sign({"sub": "mailto:x@example.com", "aud": "http://localhost:1"})
    forged = header["Authorization"].replace(header["Authorization"].split("k=")[1], settings.VAPID_PUBLIC_KEY)
    with pytest.raises(InvalidSignature):
        verify_vapid(forged, audience="http://localhost:1")


def test_410_removes_that_subscription_and_the_others_still_get_it(make_user, client_for, fan_out):
    bob = make_user("bob")
    laptop, old_phone = Browser(), Browser()
    with Receiver(default=Answer(201)) as live, Receiver(default=Answer(410, body=b"expired")) as gone:
        laptop_id = laptop.subscribe(client_for(bob), live.url("/push/laptop"))
        phone_id = old_phone.subscribe(client_for(bob), gone.url("/push/phone"))
        delivery = fan_out([bob], Channel.PUSH)[bob.pk]
        assert dispatch(delivery)["sent"] == [delivery.pk]

    assert laptop.decrypt(live.requests[0].body)["notification_id"] == delivery.notification_id
    assert len(gone.requests) == 1
    assert list(PushSubscription.objects.filter(user=bob).values_list("pk", flat=True)) == [laptop_id]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert f"push:{phone_id}: answered 410: subscription gone, removed" in delivery.last_error


def test_the_only_subscription_gone_fails_the_delivery(make_user, client_for, fan_out):
    cid = make_user("cid")
    with Receiver(default=Answer(404)) as gone:
        Browser().subscribe(client_for(cid), gone.url("/push/x"))
        delivery = fan_out([cid], Channel.PUSH)[cid.pk]
        assert dispatch(delivery)["failed"] == [delivery.pk]
    assert not PushSubscription.objects.filter(user=cid).exists()
    # With no subscription left, the next push has no address at all.
    later = fan_out([cid], Channel.PUSH, event_key="scenario.deleted")[cid.pk]
    assert dispatch(later)["failed"] == [later.pk]
    assert "no valid push address" in Delivery.objects.get(pk=later.pk).last_error


def test_429_and_5xx_are_retried_other_4xx_fail_and_keep_the_subscription(make_user, client_for, fan_out):
    dee, eve = make_user("dee"), make_user("eve")
    with (
        Receiver(Answer(429, headers={"Retry-After": "30"}), Answer(502), Answer(201)) as busy,
        Receiver(default=Answer(400, body=b"bad payload")) as strict,
    ):
        Browser().subscribe(client_for(dee), busy.url("/push/dee"))
        Browser().subscribe(client_for(eve), strict.url("/push/eve"))
        deliveries = fan_out([dee, eve], Channel.PUSH)
        first = dispatch(*deliveries.values())
        assert first["retry"] == [deliveries[dee.pk].pk] and first["failed"] == [deliveries[eve.pk].pk]
        assert dispatch(deliveries[dee.pk])["retry"] == [deliveries[dee.pk].pk]
        assert dispatch(deliveries[dee.pk])["sent"] == [deliveries[dee.pk].pk]

    assert len(busy.requests) == 3 and len(strict.requests) == 1
    retried = Delivery.objects.get(pk=deliveries[dee.pk].pk)
    assert (retried.status, retried.attempts) == (DeliveryStatus.SENT, 3)
    statuses = [e.detail["targets"][0]["status"] for e in retried.events.order_by("id")]
    assert statuses == [429, 502, 201]
    assert PushSubscription.objects.filter(user=eve).exists()  # a 400 is not "gone"


def test_a_push_endpoint_on_a_private_address_is_refused_at_send_time(make_user, fan_out):
    fay = make_user("fay")
    with Receiver() as internal:
        keys = Browser().keys
        PushSubscription.objects.create(user=fay, endpoint=internal.url("/push", host="127.0.0.1"), **keys)
        delivery = fan_out([fay], Channel.PUSH)[fay.pk]
        assert dispatch(delivery)["failed"] == [delivery.pk]
    assert internal.requests == []
    assert "loopback address 127.0.0.1" in Delivery.objects.get(pk=delivery.pk).last_error


@override_settings(VAPID_PRIVATE_KEY="")
def test_without_a_vapid_key_pushes_wait_for_configuration(make_user, client_for, fan_out):
    gil = make_user("gil")
    with Receiver() as push_service:
        Browser().subscribe(client_for(gil), push_service.url("/push/g"))
        delivery = fan_out([gil], Channel.PUSH)[gil.pk]
        assert dispatch(delivery)["retry"] == [delivery.pk]
    assert push_service.requests == []
    assert "VAPID_PRIVATE_KEY is not set" in Delivery.objects.get(pk=delivery.pk).last_error


def test_a_payload_too_big_for_a_push_record_drops_its_data(make_user, client_for, fan_out):
    hal = make_user("hal")
    browser = Browser()
    with Receiver(default=Answer(201)) as push_service:
        browser.subscribe(client_for(hal), push_service.url("/push/h"))
        delivery = fan_out([hal], Channel.PUSH, data={"name": "Big", "log": "x" * 10_000})[hal.pk]
        assert dispatch(delivery)["sent"] == [delivery.pk]
    [request] = push_service.requests
    assert len(request.body) <= 4096
    message = browser.decrypt(request.body)
    assert message["data"] == {} and message["notification_id"] == delivery.notification_id
