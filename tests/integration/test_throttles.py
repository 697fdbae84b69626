"""Throttles with a real worker fanning out into real PostgreSQL and sending into a
real SMTP server: 3 an hour lets three emails go and holds the fourth until the next
window, when beat's release sends it; critical events pass."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.events.models import Event, EventType, FanoutState
from apps.notifications.fanout import event_fan_out
from apps.notifications.publish import event_publish
from apps.scheduling.digests import digests_build
from apps.scheduling.release import deliveries_release_due
from apps.subscriptions.throttles import window_start

from ..worker import wait_until
from .providers import smtp_worker_fixture

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


smtp_worker = smtp_worker_fixture("throttles")


@pytest.fixture
def flapping(db):
    return EventType.objects.create(key="monitor.flapped", name="Monitor flapped", throttle_limit=3)


@pytest.fixture
def watcher(request, make_user, subscribe, flapping):
    person = make_user(request.node.name[5:30])  # the SMTP sink keeps the module's messages
    subscribe(person, flapping, channel=Channel.EMAIL)
    return person


def publish(event_type, n: int) -> list[int]:
    ids = [event_publish(event_type=event_type, data={"title": f"Flap {i}"})[0].pk for i in range(n)]
    wait_until(
        lambda: Event.objects.filter(pk__in=ids, fanout_state=FanoutState.DONE).count() == n, message="fanned out"
    )
    return ids


def sent(person):
    return Delivery.objects.filter(notification__user=person, status=DeliveryStatus.SENT)


def test_the_fourth_in_an_hour_is_held_and_released_in_the_next_window(smtp_worker, smtp_sink, watcher, flapping):
    publish(flapping, 4)
    wait_until(lambda: sent(watcher).count() == 3, message="three sent")
    [held] = Delivery.objects.filter(notification__user=watcher, status=DeliveryStatus.PENDING)
    next_window = window_start(timezone.now(), timedelta(hours=1)) + timedelta(hours=1)
    assert held.last_error == "throttled" and held.not_before == next_window
    [row] = DeliveryEvent.objects.filter(delivery=held, status="throttled")
    assert row.detail["reason"] == "throttled"
    time.sleep(0.5)
    assert len(smtp_sink.received(watcher.email)) == 3

    assert deliveries_release_due(now=next_window - timedelta(seconds=1)) == 0
    assert deliveries_release_due(now=next_window) == 1
    wait_until(lambda: sent(watcher).count() == 4, message="the held one sent in the next window")
    assert len(smtp_sink.received(watcher.email)) == 4


def test_critical_events_pass_the_throttle(smtp_worker, smtp_sink, watcher, flapping):
    flapping.critical = True
    flapping.save()
    publish(flapping, 5)
    wait_until(lambda: len(smtp_sink.received(watcher.email)) == 5, message="all five sent")
    assert not Delivery.objects.filter(last_error="throttled").exists()


def test_overflow_into_the_digest(smtp_worker, watcher, flapping):
    flapping.throttle_overflow = "digest"
    flapping.save()
    publish(flapping, 4)
    wait_until(lambda: sent(watcher).count() == 3, message="three sent")
    [held] = Delivery.objects.filter(notification__user=watcher, status=DeliveryStatus.PENDING)
    assert held.last_error == "throttled" and held.not_before.year == 9999  # the digest's hold

    # The watcher has no digest of their own: the throttled one waits for an hourly one.
    assert digests_build(now=timezone.now()) == 0
    assert Delivery.objects.get(pk=held.pk).status == DeliveryStatus.PENDING
    assert digests_build(now=timezone.now() + timedelta(hours=1)) == 1
    wait_until(lambda: sent(watcher).count() == 4, message="the digest sent")
    assert Delivery.objects.get(pk=held.pk).last_error == "digested"


def test_the_settings_limit_counts_every_type(settings, make_user, subscribe, flapping):
    """THROTTLE_LIMITS (in this process's fan-out): 2 emails an hour over two types."""
    settings.THROTTLE_LIMITS = ["email=2/3600"]
    other = EventType.objects.create(key="build.failed", name="Build failed")
    person = make_user("everytype")
    for event_type in (flapping, other):
        subscribe(person, event_type, channel=Channel.EMAIL)
    for event_type in (other, flapping, other):
        event_fan_out(event_id=Event.objects.create(event_type=event_type, data={}).pk)
    statuses = list(
        Delivery.objects.filter(notification__user=person).order_by("pk").values_list("last_error", flat=True)
    )
    assert statuses == ["", "", "throttled"]
