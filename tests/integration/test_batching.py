"""Batching windows with a real worker fanning out into real PostgreSQL and sending into
a real SMTP server: a burst of one key's events becomes one inbox item and one email
per subscriber; two keys make two; critical events pass; a closer racing the fan-outs
in another process loses no event."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.events.models import Event, EventBatch, EventType, FanoutState
from apps.notifications.batch_refresh import batches_refresh
from apps.notifications.models import UserNotification
from apps.notifications.publish import event_publish
from apps.notifications.tasks import batches_close

from ..worker import wait_until
from .providers import smtp_worker_fixture

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WINDOW = 600  # long: the tests close windows by asking for a later "now"


smtp_worker = smtp_worker_fixture("batching")


@pytest.fixture
def comments(db):
    return EventType.objects.create(
        key="comment.added",
        name="Comment added",
        batch_window_seconds=WINDOW,
        batch_noun="comments",
    )


@pytest.fixture
def subscribers(request, make_user, subscribe, comments):
    # Named per test: the SMTP sink keeps the module's messages.
    people = [make_user(f"{request.node.name[5:25]}{i}") for i in range(3)]
    for person in people:
        subscribe(person, comments, channel=Channel.IN_APP)
        subscribe(person, comments, channel=Channel.EMAIL)
    return people


def publish(event_type, scenario: str, n: int, actor=None) -> list[int]:
    ids = []
    for i in range(n):
        event, _ = event_publish(
            event_type=event_type,
            subject=("scenarios.scenario", scenario),
            actor=actor,
            data={"name": f"Scenario {scenario}", "title": f"Comment {i}"},
        )
        ids.append(event.pk)
    return ids


def fanned_out(event_ids):
    wait_until(
        lambda: Event.objects.filter(pk__in=event_ids, fanout_state=FanoutState.DONE).count() == len(event_ids),
        message="every event fanned out",
    )


def close_all() -> int:
    return batches_close(now=timezone.now() + timedelta(seconds=WINDOW + 1))


def emails(sink, person):
    return sink.received(person.email)


def test_fifty_events_of_one_key_are_one_item_and_one_email_per_subscriber(
    smtp_worker, smtp_sink, subscribers, comments, make_user
):
    author = make_user("author")
    events = publish(comments, "7", 50, actor=author)
    fanned_out(events)
    batches_refresh()  # beat's, before each close

    for person in subscribers:
        [item] = UserNotification.objects.filter(user=person)
        assert item.in_inbox and item.read_at is None
        assert item.title == "50 new comments on Scenario 7"
        assert "author: Comment 49" in item.body and "… and 30 more" in item.body
    assert not Delivery.objects.exists()  # nothing is sent while the window is open

    assert close_all() == len(subscribers)
    for person in subscribers:
        [message] = wait_until(lambda person=person: emails(smtp_sink, person), message="the batch's email")
        assert "50 new comments on Scenario 7" in message["Subject"]
        batch = EventBatch.objects.get(user=person)
        assert batch.count == 50 and batch.closed_at is not None
        assert batch.summary["count"] == 50 and batch.summary["actors"] == ["author"]
        assert batch.summary["first"]["id"] == events[0] and batch.summary["last"]["id"] == events[-1]
    assert Delivery.objects.filter(channel=Channel.EMAIL).count() == len(subscribers)
    wait_until(
        lambda: Delivery.objects.filter(status=DeliveryStatus.SENT).count() == len(subscribers), message="all sent"
    )
    time.sleep(0.5)
    assert [len(emails(smtp_sink, person)) for person in subscribers] == [1, 1, 1]
    assert close_all() == 0  # closed once


def test_events_of_two_keys_are_two_items_and_two_emails(smtp_worker, smtp_sink, subscribers, comments):
    events = publish(comments, "21", 4) + publish(comments, "22", 3)
    fanned_out(events)
    batches_refresh()
    person = subscribers[0]
    titles = sorted(UserNotification.objects.filter(user=person).values_list("title", flat=True))
    assert titles == ["3 new comments on Scenario 22", "4 new comments on Scenario 21"]

    assert close_all() == 2 * len(subscribers)
    received = wait_until(lambda: len(emails(smtp_sink, person)) == 2 and emails(smtp_sink, person), message="two")
    assert sorted(m["Subject"] for m in received) == [
        "3 new comments on Scenario 22",
        "4 new comments on Scenario 21",
    ]


def test_a_single_event_keeps_its_own_words(smtp_worker, smtp_sink, subscribers, comments):
    fanned_out(publish(comments, "31", 1))
    [item] = UserNotification.objects.filter(user=subscribers[0])
    assert item.title == "Comment added: Comment 0"
    close_all()
    [message] = wait_until(lambda: emails(smtp_sink, subscribers[0]), message="the email")
    assert message["Subject"] == "Comment added: Comment 0"


def test_critical_events_are_never_batched(smtp_worker, smtp_sink, subscribers, comments):
    comments.critical = True
    comments.save()
    fanned_out(publish(comments, "41", 3))
    person = subscribers[0]
    assert UserNotification.objects.filter(user=person).count() == 3
    assert not EventBatch.objects.exists()
    wait_until(lambda: len(emails(smtp_sink, person)) == 3, message="one email per critical event")


def test_a_closer_racing_the_fan_outs_loses_no_event(smtp_worker, smtp_sink, subscribers, comments):
    """The worker process fans events out while this process closes every open window
    as fast as it can: each event is counted in exactly one window of each person, and
    each window is one email."""
    stop, closed = threading.Event(), []

    def closer():
        try:
            while not stop.is_set():
                closed.append(close_all())
        finally:
            connection.close()

    thread = threading.Thread(target=closer)
    thread.start()
    try:
        events = []
        for _ in range(15):
            events += publish(comments, "51", 4)
            time.sleep(0.05)
        fanned_out(events)
    finally:
        stop.set()
        thread.join(60)
    close_all()

    assert sum(closed) > 1  # the race happened: windows closed while events came
    for person in subscribers:
        windows = list(EventBatch.objects.filter(user=person).order_by("first_event_id"))
        assert sum(w.count for w in windows) == len(events)  # each event counted once
        # Each event is listed by a window (two adjacent ones may both list an event
        # whose fan-out committed after the next one's: the list is a range of ids).
        assert all(any(w.first_event_id <= pk <= w.last_event_id for w in windows) for pk in events)
        assert all(w.count <= len([pk for pk in events if w.first_event_id <= pk <= w.last_event_id]) for w in windows)
        assert all(w.closed_at is not None and w.notification_id for w in windows)
        assert Delivery.objects.filter(notification__user=person).count() == len(windows)
    wait_until(
        lambda: all(len(emails(smtp_sink, p)) == EventBatch.objects.filter(user=p).count() for p in subscribers),
        message="one email per window",
    )
