import pytest

from apps.delivery.models import Delivery
from apps.notifications.fanout import event_fan_out
from apps.notifications.publish import event_publish
from apps.subscriptions.models import Subscription


@pytest.fixture
def fan_out(event_types):
    """Subscribe the users to an event type on a channel, publish one event and fan it
    out (no worker): the channel's pending deliveries, by user id."""

    def fan_out(users, channel, event_key="scenario.created", data=None) -> dict:
        for user in users:
            Subscription.objects.get_or_create(user=user, event_type=event_types[event_key], channel=channel)
        event, _ = event_publish(event_type=event_types[event_key], data=data or {"name": "Smoke"})
        event_fan_out(event_id=event.pk)
        deliveries = Delivery.objects.filter(notification__event=event, channel=channel).select_related("notification")
        return {d.notification.user_id: d for d in deliveries}

    return fan_out
