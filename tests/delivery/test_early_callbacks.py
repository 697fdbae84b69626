"""Provider callbacks that come before the send is recorded: Twilio and SendGrid can
answer before the worker that sent commits. They are held and applied with the send."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.common.channels import Channel
from apps.delivery import dispatch
from apps.delivery.callbacks import early_provider_events_apply, sendgrid_events_apply, twilio_status_apply
from apps.delivery.channels.base import Message, Outcome, SendResult, no_report
from apps.delivery.models import Delivery, DeliveryStatus, EarlyProviderEvent
from apps.scheduling.retention import retention_purge

from .factories import make_delivery
from .provider_callbacks import history, twilio_post

pytestmark = pytest.mark.django_db

SID = "SM" + "e" * 32


class FastProviderChannel:
    """An SMS channel whose provider calls back (`on_send`) before its API answers."""

    key = Channel.SMS

    def __init__(self, on_send):
        self.on_send = on_send

    def render(self, delivery):
        return Message(delivery_id=delivery.pk, user_id=0, to="+15005550006", subject="", text="hi")

    def send_batch(self, messages, report=no_report):
        self.on_send()
        return [SendResult(m.delivery_id, Outcome.SENT, provider_message_id=SID) for m in messages]


def test_twilio_status_before_the_send_is_recorded_is_applied_with_it(
    provider_settings, make_user, event_types, monkeypatch
):
    delivery = make_delivery(make_user(), event_types["scenario.created"], Channel.SMS, status=DeliveryStatus.PENDING)

    def twilio_calls_back():
        for twilio_status in ("sent", "delivered"):
            answer = twilio_post({"MessageSid": SID, "MessageStatus": twilio_status, "AccountSid": "AC1"})
            assert answer.status_code == 204
        # Nothing to move yet: the worker has not recorded the send (nor the sid).
        assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENDING
        assert EarlyProviderEvent.objects.count() == 2

    monkeypatch.setattr(dispatch, "get_channel", lambda key: FastProviderChannel(twilio_calls_back))
    plan = dispatch.deliveries_dispatch(channel_key=Channel.SMS, delivery_ids=[delivery.pk])

    assert plan.steps["sent"] == [delivery.pk]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert history(delivery) == ["sent", "provider_sent", "delivered"]
    assert not EarlyProviderEvent.objects.exists()


def test_sendgrid_event_for_a_delivery_still_sending_is_held_then_applied(make_user, event_types):
    delivery = make_delivery(make_user(), event_types["scenario.created"], Channel.EMAIL, status=DeliveryStatus.SENDING)
    event = {"event": "delivered", "delivery_id": str(delivery.pk), "sg_event_id": "e1", "sg_message_id": "m1.x"}
    assert sendgrid_events_apply(events=[event]) == 0
    assert EarlyProviderEvent.objects.filter(delivery=delivery).count() == 1

    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENT, provider_message_id="m1")
    assert early_provider_events_apply(delivery_ids=[delivery.pk]) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.events.get(status="delivered").detail["arrived_early"] is True
    # Applied once: a repeat of the same callback now changes nothing.
    assert sendgrid_events_apply(events=[event]) == 0
    assert not EarlyProviderEvent.objects.exists()


def test_a_callback_held_just_after_the_send_was_recorded_is_applied_at_once(make_user, event_types):
    """The callback looked before the worker committed, the worker looked for held
    callbacks before this one was written: holding looks again."""
    delivery = make_delivery(
        make_user(), event_types["scenario.created"], Channel.SMS, status=DeliveryStatus.SENT, provider_message_id=SID
    )
    from apps.delivery.callbacks import _hold

    _hold(provider_message_id=SID, status=DeliveryStatus.DELIVERED, detail={"sid": SID}, dedupe={})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert not EarlyProviderEvent.objects.exists()


def test_a_callback_never_matched_is_kept_a_while_then_purged(settings):
    settings.EARLY_CALLBACK_KEEP_HOURS = 24
    assert twilio_status_apply(params={"MessageSid": "SMnot-ours", "MessageStatus": "delivered"}) is False
    recent = twilio_status_apply(params={"MessageSid": "SMnot-ours-either", "MessageStatus": "delivered"})
    assert recent is False
    EarlyProviderEvent.objects.filter(provider_message_id="SMnot-ours").update(
        received_at=timezone.now() - timedelta(hours=25)
    )
    assert retention_purge()["early_callbacks"] == 1
    assert list(EarlyProviderEvent.objects.values_list("provider_message_id", flat=True)) == ["SMnot-ours-either"]
