"""Shared pieces of the alert tests: deliveries in a given state and age, a clean slate
of circuits in the test Redis, and a recorder standing in for the destinations."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.delivery.models import Delivery
from apps.events.models import Event
from apps.notifications.models import UserNotification

from ..integration.providers import reset_resilience_state


def delivery_aged(user, event_type, *, channel="email", status="pending", age_seconds=0, **fields) -> Delivery:
    event = Event.objects.create(event_type=event_type, data={})
    item = UserNotification.objects.create(event=event, user=user, title="t", created_at=timezone.now())
    at = timezone.now() - timedelta(seconds=age_seconds)
    return Delivery.objects.create(
        notification=item, channel=channel, status=status, created_at=at, updated_at=at, **fields
    )


@pytest.fixture
def clean_circuits():
    reset_resilience_state()
    yield
    reset_resilience_state()
