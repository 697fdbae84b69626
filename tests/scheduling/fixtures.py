"""Fixtures of the scheduling tests, imported where used (also by integration tests)."""

import pytest

from apps.common.channels import Channel
from apps.common.redis_clients import redis_client
from apps.events.models import EventType
from apps.notifications.fanout import event_fan_out
from apps.notifications.publish import event_publish


@pytest.fixture(autouse=True)
def no_periodic_locks():
    """Slot locks outlive a test (they expire on their own); each test starts without."""
    client = redis_client("locks")
    for key in client.scan_iter("periodic:*"):
        client.delete(key)
    yield


@pytest.fixture
def news(db):
    """An event type delivered to the inbox and the log channel by default."""
    return EventType.objects.create(key="news.posted", name="News posted", default_channels=["in_app", Channel.LOG])


@pytest.fixture
def publish():
    def publish(event_type, **data):
        event, _ = event_publish(event_type=event_type, data={"title": "Item", **data})
        event_fan_out(event_id=event.pk)
        return event

    return publish
