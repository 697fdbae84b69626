"""The webhook channel against real HTTP receivers on 127.0.0.1, through the real
dispatch on the test database; signatures checked by the `standardwebhooks` package and
by an independent HMAC below."""

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from apps.accounts.models import WebhookEndpoint
from apps.accounts.services import webhook_endpoint_create, webhook_endpoint_rotate_secret, webhook_secret_generate
from apps.common.channels import Channel
from apps.delivery.dispatch import deliveries_dispatch
from apps.delivery.models import Delivery, DeliveryStatus

from ..http_receiver import Answer, Receiver

pytestmark = pytest.mark.django_db


def dispatch(*deliveries):
    return deliveries_dispatch(channel_key="webhook", delivery_ids=[d.pk for d in deliveries]).steps


def signatures(headers) -> list[str]:
    return [part.split(",", 1)[1] for part in headers["webhook-signature"].split(" ")]


def expected_signature(secret: str, headers, body: bytes) -> str:
    """Standard Webhooks, written out: HMAC-SHA256 over "{id}.{timestamp}.{body}" keyed
    with the base64-decoded secret after "whsec_"."""
    key = base64.b64decode(secret[len("whsec_") :])
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def last_event(delivery):
    return delivery.events.order_by("-id").first()


def test_signed_post_reaches_the_receiver_and_the_delivery_is_sent(make_user, client_for, fan_out):
    bob = make_user("bob")
    with Receiver(Answer(202, body=b"thanks")) as receiver:
        created = client_for(bob).post("/api/v1/webhook-endpoints/", {"url": receiver.url()}, format="json")
        assert created.status_code == 201
        secret = created.json()["secret"]
        delivery = fan_out([bob], Channel.WEBHOOK)[bob.pk]

        assert dispatch(delivery)["sent"] == [delivery.pk]

    [request] = receiver.requests
    assert request.method == "POST" and request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == f"dlv_{delivery.pk}"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 30
    # The package's verification and our own reading of the spec agree.
    payload = Webhook(secret).verify(request.body, request.headers)
    assert signatures(request.headers) == [expected_signature(secret, request.headers, request.body)]
    assert payload["type"] == "scenario.created"
    assert payload["data"]["delivery_id"] == delivery.pk
    assert payload["data"]["recipient"] == {"id": bob.pk, "username": "bob"}
    assert payload["data"]["data"] == {"name": "Smoke"}
    # Someone else's secret does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(request.body, request.headers)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_message_id == f"dlv_{delivery.pk}"
    [target] = last_event(delivery).detail["targets"]
    assert target["status"] == 202 and target["outcome"] == "sent" and target["detail"]["response"] == "thanks"


def test_service_endpoint_gets_every_delivery_of_the_event_types_it_lists(make_user, fan_out, event_types):
    ann, ben = make_user("ann"), make_user("ben")
    with Receiver() as service, Receiver() as anns_own:
        endpoint = webhook_endpoint_create(url=service.url("/service"), event_types=[event_types["scenario.created"]])
        webhook_endpoint_create(user=ann, url=anns_own.url("/ann"))
        deliveries = fan_out([ann, ben], Channel.WEBHOOK)
        assert sorted(dispatch(*deliveries.values())["sent"]) == sorted(d.pk for d in deliveries.values())

        # Another event type: Ben has no endpoint of his own and the service does not list it.
        other = fan_out([ben], Channel.WEBHOOK, event_key="scenario.deleted")[ben.pk]
        assert dispatch(other)["failed"] == [other.pk]

    assert endpoint.user is None
    recipients = sorted(json.loads(r.body)["data"]["recipient"]["username"] for r in service.requests)
    assert recipients == ["ann", "ben"]
    for request in service.requests:
        Webhook(endpoint.secret).verify(request.body, request.headers)
    assert [json.loads(r.body)["data"]["recipient"]["username"] for r in anns_own.requests] == ["ann"]
    assert "no valid webhook address" in Delivery.objects.get(pk=other.pk).last_error


def test_rotation_sends_both_signatures_during_the_grace_period_then_only_the_new(make_user, fan_out):
    carol = make_user("carol")
    with Receiver() as receiver:
        endpoint = webhook_endpoint_create(user=carol, url=receiver.url())
        old_secret = endpoint.secret
        endpoint = webhook_endpoint_rotate_secret(endpoint=endpoint)
        new_secret = endpoint.secret
        assert new_secret != old_secret and endpoint.previous_secret_expires_at > timezone.now()

        dispatch(fan_out([carol], Channel.WEBHOOK)[carol.pk])
        during = receiver.requests[-1]

        # The grace period ends.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
        dispatch(fan_out([carol], Channel.WEBHOOK, event_key="scenario.executed")[carol.pk])
        after = receiver.requests[-1]

    # During the grace period a receiver holding either secret verifies.
    assert sorted(signatures(during.headers)) == sorted(
        expected_signature(s, during.headers, during.body) for s in (old_secret, new_secret)
    )
    Webhook(old_secret).verify(during.body, during.headers)
    Webhook(new_secret).verify(during.body, during.headers)
    # After it, only the new one.
    assert signatures(after.headers) == [expected_signature(new_secret, after.headers, after.body)]
    Webhook(new_secret).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(after.body, after.headers)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "[::ffff:127.0.0.1]", "2130706433", "0x7f000001", "017700000001", "[::127.0.0.1]"],
)
def test_private_addresses_are_refused_and_never_contacted(host, make_user, fan_out):
    """The receiver listens on 127.0.0.1: it would see the POST if the guard let it through."""
    dave = make_user("dave")
    with Receiver() as receiver:
        # Stored directly, as if registered under an older allow-list: the check at send time holds.
        WebhookEndpoint.objects.create(user=dave, url=receiver.url(host=host), secret=webhook_secret_generate())
        delivery = fan_out([dave], Channel.WEBHOOK)[dave.pk]
        assert dispatch(delivery)["failed"] == [delivery.pk]
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "loopback address 127.0.0.1" in delivery.last_error and "refused" in delivery.last_error


def test_a_redirect_to_a_private_address_is_not_followed(make_user, fan_out):
    erin = make_user("erin")
    with Receiver() as internal:
        location = internal.url("/admin", host="127.0.0.1")
        with Receiver(default=Answer(302, headers={"Location": location})) as public:
            webhook_endpoint_create(user=erin, url=public.url())
            delivery = fan_out([erin], Channel.WEBHOOK)[erin.pk]
            assert dispatch(delivery)["failed"] == [delivery.pk]
    assert len(public.requests) == 1
    assert internal.requests == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert f"answered 302 redirecting to {location}; not followed" in delivery.last_error


def test_5xx_is_retried_with_the_same_webhook_id_and_4xx_fails_at_once(make_user, fan_out):
    fay, gus = make_user("fay"), make_user("gus")
    with Receiver(Answer(503, headers={"Retry-After": "7"}), Answer(200)) as flaky, Receiver(Answer(400)) as strict:
        webhook_endpoint_create(user=fay, url=flaky.url())
        webhook_endpoint_create(user=gus, url=strict.url())
        deliveries = fan_out([fay, gus], Channel.WEBHOOK)
        first = dispatch(deliveries[fay.pk], deliveries[gus.pk])
        assert first["retry"] == [deliveries[fay.pk].pk] and first["failed"] == [deliveries[gus.pk].pk]
        assert Delivery.objects.get(pk=deliveries[fay.pk].pk).status == DeliveryStatus.PENDING
        assert dispatch(deliveries[fay.pk])["sent"] == [deliveries[fay.pk].pk]

    assert [r.headers["webhook-id"] for r in flaky.requests] == [f"dlv_{deliveries[fay.pk].pk}"] * 2
    retried = Delivery.objects.get(pk=deliveries[fay.pk].pk)
    assert (retried.status, retried.attempts) == (DeliveryStatus.SENT, 2)
    transient = retried.events.filter(status=DeliveryStatus.PENDING).get()
    assert transient.detail["targets"][0]["status"] == 503 and transient.detail["targets"][0]["retry_after"] == 7
    assert (
        Delivery.objects.get(pk=deliveries[gus.pk].pk).last_error
        == f"webhook:{gus.webhook_endpoints.get().pk}: answered 400"
    )


def test_a_retry_goes_only_to_the_endpoints_not_yet_reached(make_user, fan_out):
    hal = make_user("hal")
    with Receiver(default=Answer(200)) as steady, Receiver(Answer(500), Answer(200)) as flaky:
        webhook_endpoint_create(user=hal, url=steady.url())
        webhook_endpoint_create(user=hal, url=flaky.url())
        delivery = fan_out([hal], Channel.WEBHOOK)[hal.pk]
        assert dispatch(delivery)["retry"] == [delivery.pk]
        assert dispatch(delivery)["sent"] == [delivery.pk]
    assert len(steady.requests) == 1
    assert len(flaky.requests) == 2


@override_settings(WEBHOOK_TIMEOUTS=(1.0, 0.5))
def test_a_slow_receiver_times_out_and_is_retried(make_user, fan_out):
    ivy = make_user("ivy")
    with Receiver(default=Answer(200, delay=2)) as slow:
        webhook_endpoint_create(user=ivy, url=slow.url())
        delivery = fan_out([ivy], Channel.WEBHOOK)[ivy.pk]
        started = time.monotonic()
        assert dispatch(delivery)["retry"] == [delivery.pk]
        assert time.monotonic() - started < 2
    assert "ReadTimeout" in Delivery.objects.get(pk=delivery.pk).last_error


def test_the_grace_period_comes_from_settings(make_user):
    endpoint = webhook_endpoint_create(user=make_user(), url="http://localhost:9/hook")
    with override_settings(WEBHOOK_SECRET_ROTATION_GRACE_SECONDS=60):
        rotated = webhook_endpoint_rotate_secret(endpoint=endpoint)
    assert timedelta(seconds=55) < rotated.previous_secret_expires_at - timezone.now() <= timedelta(seconds=60)


@override_settings(CELERY_TASK_SOFT_TIME_LIMIT=2, OUTBOUND_HTTP_CONCURRENCY=1)
def test_targets_past_the_batch_time_budget_wait_for_the_retry(make_user, fan_out):
    """One slow receiver uses up the batch's budget (half the soft time limit): the next
    target is not started, and the retry reaches it without calling the first again."""
    jay = make_user("jay")
    with Receiver(Answer(200, delay=1.5)) as slow, Receiver() as next_in_line:
        webhook_endpoint_create(user=jay, url=slow.url())
        webhook_endpoint_create(user=jay, url=next_in_line.url())
        delivery = fan_out([jay], Channel.WEBHOOK)[jay.pk]
        assert dispatch(delivery)["retry"] == [delivery.pk]
        assert next_in_line.requests == []
        assert "ran out of time" in Delivery.objects.get(pk=delivery.pk).last_error
        assert dispatch(delivery)["sent"] == [delivery.pk]
    assert len(slow.requests) == 1 and len(next_in_line.requests) == 1
