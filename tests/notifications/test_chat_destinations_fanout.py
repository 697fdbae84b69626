"""Operators' chat destinations in the fan-out: one item and one `chat` delivery per
active destination of a published event's type, with the first chunk, in the same
transaction, never twice on a re-run, handed to dispatch with the chunk; direct sends
name their audience and do not reach destinations."""

import pytest

from apps.common.channels import Channel
from apps.delivery.models import ChatDestination, Delivery, DeliveryStatus
from apps.events.models import Event, FanoutState
from apps.notifications.fanout import event_fan_out, event_fan_out_chunks
from apps.notifications.models import UserNotification
from apps.notifications.publish import event_publish
from apps.notifications.selectors import pending_delivery_ids_for_chunk
from apps.notifications.sends import direct_send_create

# Not transactional: the publish's own enqueue (on commit) never happens, so the test
# alone fans out.
pytestmark = pytest.mark.django_db


@pytest.fixture
def destinations(event_types):
    created, deleted = event_types["scenario.created"], event_types["scenario.deleted"]
    made = {}
    for name, types, active in [
        ("ops", [created], True),
        ("both", [created, deleted], True),
        ("off", [created], False),
    ]:
        made[name] = ChatDestination.objects.create(
            name=name, apprise_url=f"ntfy://ntfy.example.com/{name}", is_active=active
        )
        made[name].event_types.set(types)
    made["unrelated"] = ChatDestination.objects.create(name="unrelated", apprise_url="ntfy://ntfy.example.com/u")
    return made


def chat_items(event_id):
    return UserNotification.objects.filter(event_id=event_id, user__isnull=True).order_by("address")


def test_each_active_destination_of_the_type_gets_one_delivery_even_with_many_chunks(
    destinations, event_types, make_user, subscribe
):
    for _ in range(5):
        subscribe(make_user(), event_types["scenario.created"], channel=Channel.EMAIL)
    event, _ = event_publish(event_type="scenario.created", data={"name": "Nightly"})

    chunks = list(event_fan_out_chunks(event_id=event.pk, chunk_size=2))

    assert len(chunks) == 3
    expected = sorted(f"chat:{destinations[name].pk}" for name in ("ops", "both"))
    assert [item.address for item in chat_items(event.pk)] == expected
    assert all(not item.in_inbox for item in chat_items(event.pk))
    chat = Delivery.objects.filter(notification__event=event, channel=Channel.CHAT)
    assert chat.count() == 2 and set(chat.values_list("status", flat=True)) == {DeliveryStatus.PENDING}
    # The first chunk hands them to dispatch with the people's.
    first = dict(
        pending_delivery_ids_for_chunk(event_id=event.pk, after_user_id=0, upto_user_id=chunks[0].upto_user_id)
    )
    assert sorted(first[Channel.CHAT]) == sorted(chat.values_list("pk", flat=True))
    assert chunks[0].deliveries_created is None or chunks[0].deliveries_created >= 2

    # A full re-run (redelivery, relay) writes none of them twice.
    Event.objects.filter(pk=event.pk).update(fanout_state=FanoutState.PENDING, fanout_cursor=0)
    event_fan_out(event_id=event.pk, chunk_size=2)
    assert chat_items(event.pk).count() == 2 and chat.count() == 2


def test_an_event_with_no_subscriber_still_reaches_its_destinations(destinations):
    event, _ = event_publish(event_type="scenario.deleted", data={"name": "Gone"})
    event_fan_out(event_id=event.pk)
    assert [item.address for item in chat_items(event.pk)] == [f"chat:{destinations['both'].pk}"]


def test_a_direct_send_does_not_reach_destinations(destinations, event_types, make_user):
    send = direct_send_create(
        caller=make_user("staff"),
        event_type=event_types["scenario.created"],
        recipients=[make_user().pk, {"email": "someone@example.com"}],
        channels=["email"],
    )
    event_fan_out(event_id=send.event_id)
    assert not Delivery.objects.filter(notification__event_id=send.event_id, channel=Channel.CHAT).exists()
    assert [item.address for item in chat_items(send.event_id)] == ["someone@example.com"]
