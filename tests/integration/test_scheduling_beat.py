"""Held and scheduled deliveries released by the beat task body and sent by a real
worker on real Redis; cancellation; digests; two beats running at once send once."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.events.models import Event
from apps.notifications.fanout import event_fan_out
from apps.notifications.models import UserNotification
from apps.notifications.sends import direct_send_cancel, direct_send_create
from apps.scheduling.release import deliveries_release_due
from apps.scheduling.tasks import digests_build_task, release_due_task
from apps.subscriptions.models import Preference

from ..scheduling import fixtures
from ..worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

news, no_periodic_locks = fixtures.news, fixtures.no_periodic_locks


def fan_out_here(event_type, **data):
    """Fan out in this process (its settings apply), without enqueuing a fan-out task."""
    event = Event.objects.create(event_type=event_type, data={"title": "Item", **data})
    event_fan_out(event_id=event.pk)
    return event


def sent_count(delivery_id):
    return DeliveryEvent.objects.filter(delivery_id=delivery_id, status=DeliveryStatus.SENT).count()


def status(delivery_id):
    return Delivery.objects.get(pk=delivery_id).status


def test_a_held_delivery_goes_out_at_the_end_of_quiet_hours(celery_worker, news, make_user, settings):
    settings.QUIET_HOURS_CHANNELS = ["email", "sms", "push", "log"]
    sleeper = make_user()
    now = timezone.now()
    Preference.objects.create(
        user=sleeper, quiet_start=(now - timedelta(hours=1)).time(), quiet_end=(now + timedelta(hours=1)).time()
    )
    event = fan_out_here(news)
    delivery = Delivery.objects.get(notification__event=event, notification__user=sleeper)
    window_end = delivery.not_before
    assert window_end is not None and window_end > now
    assert UserNotification.objects.get(pk=delivery.notification_id).in_inbox  # the inbox is not held

    assert deliveries_release_due(now=window_end - timedelta(seconds=1)) == 0
    assert deliveries_release_due(now=window_end) == 1
    wait_until(lambda: status(delivery.pk) == DeliveryStatus.SENT, message="the released delivery sent")
    assert sent_count(delivery.pk) == 1


def test_a_scheduled_send_goes_at_its_time_and_a_cancelled_one_never(celery_worker, news, make_user, settings):
    settings.SCHEDULED_RELEASE_INTERVAL_SECONDS = 1
    keep, cancel = make_user(), make_user()
    at = timezone.now() + timedelta(seconds=1)
    staff = make_user("staff")
    kept, cancelled = (
        direct_send_create(caller=staff, event_type=news, recipients=[user.pk], channels=["log"], scheduled_at=at)
        for user in (keep, cancel)
    )
    direct_send_cancel(send=cancelled, by="ops")
    time.sleep(max((at - timezone.now()).total_seconds(), 0) + 0.1)

    assert release_due_task() == {"sends": 1, "released": 0}  # the one release job: sends too
    delivery = lambda send: Delivery.objects.filter(notification__event_id=send.event_id).first()  # noqa: E731
    wait_until(lambda: delivery(kept) and status(delivery(kept).pk) == DeliveryStatus.SENT, message="sent at its time")
    assert delivery(cancelled) is None  # never fanned out


def run_twice_at_once(task):
    """The task body in two threads released together, as two beats would run it."""
    barrier, results = threading.Barrier(2), []

    def run():
        try:
            barrier.wait()
            results.append(task())
        except Exception as exc:  # shown by the caller's assertion
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_beats_release_once(celery_worker, news, make_user, settings):
    settings.SCHEDULED_RELEASE_INTERVAL_SECONDS = 3600
    users = [make_user() for _ in range(3)]
    due = timezone.now() + timedelta(seconds=1)
    with transaction.atomic():
        event = fan_out_here(news)
        Delivery.objects.filter(notification__event=event).update(not_before=due)
    time.sleep(max((due - timezone.now()).total_seconds(), 0) + 0.1)

    results = run_twice_at_once(release_due_task)
    assert sorted(results, key=str) == [{"sends": 0, "released": 3}, {"skipped": True}]
    ids = list(Delivery.objects.filter(notification__event=event).values_list("pk", flat=True))
    wait_until(lambda: all(status(pk) == DeliveryStatus.SENT for pk in ids), message="all sent")
    assert [sent_count(pk) for pk in ids] == [1, 1, 1]
    assert release_due_task() == {"skipped": True}  # the same slot does not run again
    assert len(users) == 3


def test_two_beats_build_one_digest_and_it_is_sent(celery_worker, news, make_user, settings):
    settings.DIGEST_INTERVAL_SECONDS = 3600
    reader = make_user()
    Preference.objects.create(user=reader, digest_channels={"log": "hourly"})
    for title in ("One", "Two"):
        event = fan_out_here(news, title=title)
        UserNotification.objects.filter(event=event).update(created_at=timezone.now() - timedelta(hours=2))

    results = run_twice_at_once(digests_build_task)
    assert sorted(results, key=str) == [{"digests": 1}, {"skipped": True}]
    digest = Delivery.objects.get(notification__event__event_type__key="digest")
    wait_until(lambda: status(digest.pk) == DeliveryStatus.SENT, message="the digest sent")
    assert sent_count(digest.pk) == 1
    assert "Two" in digest.notification.body and "One" in digest.notification.body
    # The items themselves were never sent one by one, and the inbox shows both.
    items = Delivery.objects.filter(notification__user=reader).exclude(pk=digest.pk)
    assert set(items.values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}
    assert UserNotification.objects.filter(user=reader, in_inbox=True).count() == 2
