"""Batching windows and throttles in this process's fan-out (no worker): the event
types API sets them, bad values are refused in the envelope, a window's inbox item is
refreshed as events join, a data field keys batches, and the close applies preferences."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.events.models import Event, EventBatch, EventType
from apps.notifications.batch_close import batches_close_page
from apps.notifications.batch_refresh import batches_refresh
from apps.notifications.fanout import event_fan_out
from apps.notifications.models import UserNotification
from apps.subscriptions.models import Preference
from apps.subscriptions.throttles import throttle_settings_check

pytestmark = pytest.mark.django_db


def test_the_event_types_api_sets_batching_and_throttles(api_key_client):
    client = api_key_client(["templates:write"])
    created = client.post(
        "/api/v1/event-types/",
        {"key": "comment.added", "name": "Comment", "batch_window_seconds": 300, "batch_noun": "comments"},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["batch_window_seconds"], body["batch_key"], body["batch_noun"]) == (300, "", "comments")
    assert (body["throttle_limit"], body["throttle_window_seconds"], body["throttle_overflow"]) == (None, 3600, "hold")

    patched = client.patch(
        "/api/v1/event-types/comment.added/",
        {"batch_key": "thread", "throttle_limit": 3, "throttle_overflow": "digest"},
        format="json",
    )
    assert patched.status_code == 200
    event_type = EventType.objects.get(key="comment.added")
    assert (event_type.batch_key, event_type.throttle_limit, event_type.throttle_overflow) == ("thread", 3, "digest")

    for bad in (
        {"batch_window_seconds": 0},
        {"batch_window_seconds": 8 * 24 * 3600},
        {"batch_key": "data.thread; drop"},
        {"throttle_limit": 0},
        {"throttle_overflow": "drop"},
    ):
        refused = client.patch("/api/v1/event-types/comment.added/", bad, format="json")
        assert refused.status_code == 400, bad
        assert set(refused.json()["error"]["details"]) == set(bad)
    assert EventType.objects.get(key="comment.added").batch_window_seconds == 300  # unchanged


@pytest.fixture
def threads(db, make_user, subscribe):
    event_type = EventType.objects.create(
        key="reply.posted", name="Reply posted", batch_window_seconds=60, batch_key="thread", batch_noun="replies"
    )
    people = [make_user(f"p{i}") for i in range(2)]
    for person in people:
        subscribe(person, event_type, channel=Channel.IN_APP)
        subscribe(person, event_type, channel=Channel.EMAIL)
    return event_type, people


def fan_out(event_type, **data):
    event = Event.objects.create(event_type=event_type, data={"name": "Checkout flow", **data})
    event_fan_out(event_id=event.pk)
    return event


def test_the_item_updates_as_events_join_and_a_data_field_keys_batches(threads):
    event_type, (ann, bob) = threads
    fan_out(event_type, thread="a", title="First")
    [item] = UserNotification.objects.filter(user=ann)
    assert item.title == "Reply posted: First"
    UserNotification.objects.filter(pk=item.pk).update(read_at=timezone.now())

    fan_out(event_type, thread="a", title="Second")
    item.refresh_from_db()
    assert item.title == "Reply posted: First"  # counted; the words wait for the refresh
    assert batches_refresh() == 2  # ann's and bob's: one rewrite for both
    item.refresh_from_db()
    assert item.title == "2 new replies on Checkout flow"
    assert item.body == "- First\n- Second"
    assert item.read_at is None  # new activity: unread again

    fan_out(event_type, thread="b", title="Elsewhere")
    assert UserNotification.objects.filter(user=ann).count() == 2
    assert set(EventBatch.objects.filter(user=ann).values_list("batch_key", "count")) == {
        ("data:a", 2),
        ("data:b", 1),
    }
    assert not Delivery.objects.exists()
    assert batches_refresh() == 0  # up to date; a window of one keeps its event's words


def test_the_close_applies_preferences_and_waits_for_the_window(threads):
    event_type, (ann, bob) = threads
    Preference.objects.create(user=bob, muted_channels=[Channel.EMAIL])
    for title in ("One", "Two", "Three"):
        fan_out(event_type, thread="a", title=title)

    assert batches_close_page(now=timezone.now()) is None  # the window is still open
    page = batches_close_page(now=timezone.now() + timedelta(seconds=61))
    assert page.windows == 2
    ann_email = Delivery.objects.get(notification__user=ann, channel=Channel.EMAIL)
    bob_email = Delivery.objects.get(notification__user=bob, channel=Channel.EMAIL)
    assert page.pending_delivery_ids == [ann_email.pk]
    assert (bob_email.status, bob_email.last_error) == (DeliveryStatus.CANCELLED, "muted")
    assert DeliveryEvent.objects.filter(delivery=bob_email, status="cancelled").exists()
    assert ann_email.notification.title == "3 new replies on Checkout flow"
    assert EventBatch.objects.get(user=ann).summary["items"][-1]["data"]["title"] == "Three"

    # A later event opens the next window rather than joining the closed one.
    fan_out(event_type, thread="a", title="Four")
    assert EventBatch.objects.filter(user=ann, closed_at__isnull=True).get().count == 1
    assert UserNotification.objects.filter(user=ann).count() == 2


def test_a_throttle_into_the_history_says_throttled(db, make_user, subscribe):
    event_type = EventType.objects.create(key="ping", name="Ping", throttle_limit=1, throttle_window_seconds=60)
    person = make_user("pinged")
    subscribe(person, event_type, channel=Channel.EMAIL)
    fan_out(event_type)
    fan_out(event_type)
    first, second = Delivery.objects.filter(notification__user=person).order_by("pk")
    assert (first.last_error, first.not_before) == ("", None)
    assert second.last_error == "throttled" and second.not_before.second == 0
    [row] = DeliveryEvent.objects.filter(delivery=second)
    assert row.status == "throttled" and row.detail["reason"] == "throttled"


@pytest.mark.parametrize("bad", ["email", "email=x/60", "in_app=3/60", "fax=3/60", "email=0/60", "email=3/9999999"])
def test_a_bad_settings_limit_is_refused_at_start(settings, bad):
    settings.THROTTLE_LIMITS = [bad]
    [error] = throttle_settings_check()
    assert "THROTTLE_LIMITS" in error.msg and error.id == "subscriptions.E001"
    settings.THROTTLE_LIMITS = ["email=20/3600", "sms=5"]
    assert throttle_settings_check() == []
