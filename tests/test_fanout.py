"""Fan-out SQL on the test database (no worker: the service is called directly)."""

import pytest

from apps.common.channels import Channel
from apps.delivery.models import Delivery
from apps.events.models import Event, FanoutState
from apps.notifications.fanout import event_fan_out
from apps.notifications.models import UserNotification
from apps.notifications.publish import event_publish

pytestmark = pytest.mark.django_db


def publish(event_type, **kwargs):
    event, _ = event_publish(event_type=event_type, data={"name": "Smoke"}, **kwargs)
    return event


def test_one_item_per_subscriber_and_one_delivery_per_external_channel(event_types, make_user, subscribe):
    created = event_types["scenario.created"]
    both, email_only, disabled = make_user(), make_user(), make_user()
    subscribe(both, created, Channel.IN_APP)
    subscribe(both, created, Channel.EMAIL)
    subscribe(both, created, Channel.LOG)
    subscribe(email_only, created, Channel.EMAIL)
    subscribe(disabled, created, Channel.IN_APP, enabled=False)

    event = publish(created)
    assert event_fan_out(event_id=event.pk) == 2

    items = {n.user_id: n for n in UserNotification.objects.filter(event=event)}
    assert set(items) == {both.pk, email_only.pk}
    assert items[both.pk].in_inbox is True
    assert items[email_only.pk].in_inbox is False  # reached by email, not shown in the inbox
    channels = sorted(
        Delivery.objects.filter(notification__event=event).values_list("notification__user_id", "channel")
    )
    assert channels == sorted([(both.pk, "email"), (both.pk, "log"), (email_only.pk, "email")])
    event.refresh_from_db()
    assert (event.fanout_state, event.recipient_count) == (FanoutState.DONE, 2)


def test_subject_subscriptions_match_only_their_subject(event_types, make_user, subscribe):
    executed = event_types["scenario.executed"]
    any_subject, this_one, other_one = make_user(), make_user(), make_user()
    subscribe(any_subject, executed)
    subscribe(this_one, executed, subject_type="scenarios.scenario", subject_id="7")
    subscribe(other_one, executed, subject_type="scenarios.scenario", subject_id="8")

    event = publish(executed, subject=("scenarios.scenario", 7))
    event_fan_out(event_id=event.pk)
    assert set(UserNotification.objects.filter(event=event).values_list("user_id", flat=True)) == {
        any_subject.pk,
        this_one.pk,
    }


def test_chunks_cover_everyone_exactly_once_and_rerun_adds_nothing(event_types, make_user, subscribe):
    created = event_types["scenario.created"]
    users = [make_user() for _ in range(23)]
    for user in users:
        subscribe(user, created)
        subscribe(user, created, Channel.LOG)  # two rows per user straddle chunk edges

    event = publish(created)
    assert event_fan_out(event_id=event.pk, chunk_size=4) == 23
    assert UserNotification.objects.filter(event=event).count() == 23
    assert Delivery.objects.filter(notification__event=event).count() == 23

    # A crashed run's re-drive starts over from the cursor it left; from 0 it adds nothing.
    Event.objects.filter(pk=event.pk).update(fanout_state=FanoutState.RUNNING, fanout_cursor=0)
    assert event_fan_out(event_id=event.pk, chunk_size=5) == 0
    assert UserNotification.objects.filter(event=event).count() == 23


def test_the_same_idempotency_key_publishes_once(event_types):
    first, created = event_publish(event_type="scenario.created", data={}, idempotency_key="k-1")
    second, created_again = event_publish(event_type="scenario.created", data={}, idempotency_key="k-1")
    assert (created, created_again) == (True, False)
    assert first.pk == second.pk and Event.objects.count() == 1


def test_inbox_content_comes_from_the_event_type_template(event_types, make_user, subscribe):
    user = make_user()
    subscribe(user, event_types["scenario.deleted"])
    actor = make_user("mallory")
    event, _ = event_publish(event_type="scenario.deleted", data={"name": "Old flow"}, actor=actor)
    event_fan_out(event_id=event.pk)
    item = UserNotification.objects.get(event=event)
    assert item.title == 'Scenario "Old flow" deleted'
    assert item.body == 'mallory deleted the test scenario "Old flow".'
    assert item.effective_data == {"name": "Old flow"}
