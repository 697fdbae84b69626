"""An operator's stored template for an event type on a channel is what that channel
sends; without one the channel keeps the inbox text."""

import pytest

from apps.delivery import rendering
from apps.delivery.channels.registry import get_channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.templating.services import template_create

from .factories import make_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_template_check():
    rendering._stored_seen.clear()
    yield
    rendering._stored_seen.clear()


def loaded(delivery):
    return Delivery.objects.select_related("notification__user__profile", "notification__event__event_type").get(
        pk=delivery.pk
    )


def test_email_uses_the_stored_template_and_keeps_the_unsubscribe_link(make_user, event_types):
    created = event_types["scenario.created"]
    template_create(
        event_type=created,
        channel="email",
        locale="en",
        subject="Hello {{ recipient.username }}",
        body="Your scenario news.",
        html="<p>Your <b>scenario</b> news.</p>",
    )
    delivery = loaded(make_delivery(make_user("dora"), created, "email", status=DeliveryStatus.SENDING))
    message = get_channel("email").render(delivery)
    assert message.subject == "Hello dora"
    assert message.text.startswith("Your scenario news.")
    assert "<b>scenario</b>" in message.html
    link = message.extra["unsubscribe_url"]
    assert link in message.text and link in message.html
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("channel", ["sms", "log"])
def test_text_channels_use_the_stored_template_only_when_one_exists(make_user, event_types, channel):
    created = event_types["scenario.created"]
    user = make_user("eli", phone="+14155550100")
    before = get_channel(channel).render(loaded(make_delivery(user, created, channel, status=DeliveryStatus.SENDING)))
    assert "Stored words" not in before.text

    rendering._stored_seen.clear()
    template_create(
        event_type=created, channel=channel, locale="en", subject="S", body="Stored words for {{ recipient.username }}"
    )
    delivery = make_delivery(make_user("fay", phone="+14155550101"), created, channel, status=DeliveryStatus.SENDING)
    after = get_channel(channel).render(loaded(delivery))
    assert after.text.startswith("Stored words for fay")


def _target_for(channel, user):
    from apps.accounts.services import push_subscription_register, webhook_endpoint_create

    if channel == "push":
        push_subscription_register(user=user, endpoint="https://push.example.com/sub/1", p256dh="k", auth="a")
    else:
        webhook_endpoint_create(user=user, url="https://hooks.example.com/in")


def _title_body(channel, message):
    import json

    sent = json.loads(message.extra["payload"] if channel == "push" else message.extra["body"])
    sent = sent if channel == "push" else sent["data"]
    return sent["title"], sent["body"]


@pytest.mark.parametrize("channel", ["push", "webhook"])
def test_push_and_webhook_carry_the_stored_templates_words_as_title_and_body(make_user, event_types, channel):
    created = event_types["scenario.created"]
    gil = make_user("gil")
    _target_for(channel, gil)
    before = get_channel(channel).render(loaded(make_delivery(gil, created, channel, status=DeliveryStatus.SENDING)))
    assert _title_body(channel, before) == ("t", "")  # the inbox item's (see the factory)

    rendering._stored_seen.clear()
    template_create(event_type=created, channel=channel, locale="en", subject="Hi {{ recipient.username }}", body="B")
    after = get_channel(channel).render(loaded(make_delivery(gil, created, channel, status=DeliveryStatus.SENDING)))
    assert _title_body(channel, after) == ("Hi gil", "B")
    assert (after.subject, after.text) == ("Hi gil", "B")


def test_email_batch_renders_a_stored_template_without_a_query_per_field(
    make_user, event_types, django_assert_max_num_queries
):
    """The email channel narrows its batch query to the fields it renders from; those
    cover what a stored template's context reads (recipient, profile, event, actor)."""
    from apps.delivery.selectors import delivery_list_for_send

    created = event_types["scenario.created"]
    template_create(event_type=created, channel="email", locale="en", subject="Hi {{ recipient.first_name }}", body="B")
    ids = [make_delivery(make_user(f"u{n}"), created, "email", status=DeliveryStatus.SENDING).pk for n in range(3)]
    channel = get_channel("email")
    deliveries = list(channel.narrow_queryset(delivery_list_for_send(delivery_ids=ids)))
    # One lookup of the stored template per message, and the existence check once.
    with django_assert_max_num_queries(len(ids) + 1):
        messages = [channel.render(delivery) for delivery in deliveries]
    assert all(message.subject.startswith("Hi") for message in messages)
