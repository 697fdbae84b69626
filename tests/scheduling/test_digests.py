"""Digest windows (pure) and digest assembly, with the time passed in."""

from datetime import UTC, datetime

import pytest

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.delivery.rendering import render_delivery
from apps.notifications.models import UserNotification
from apps.scheduling.digest_windows import digest_window
from apps.scheduling.digests import digests_build
from apps.subscriptions.models import Preference
from apps.subscriptions.policy import DIGEST_HOLD


def at(hour, minute=0, day=10):
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


def test_hourly_windows_close_on_the_hour():
    assert digest_window(now=at(10, 59), tz="UTC", frequency="hourly") == (at(9), at(10))
    assert digest_window(now=at(11, 0), tz="UTC", frequency="hourly") == (at(10), at(11))


def test_daily_and_weekly_windows_close_at_the_local_send_hour():
    ny = "America/New_York"  # 08:00 EDT is 12:00 UTC
    assert digest_window(now=at(11, 59), tz=ny, frequency="daily", send_hour=8) == (at(12, day=8), at(12, day=9))
    assert digest_window(now=at(12, 0), tz=ny, frequency="daily", send_hour=8) == (at(12, day=9), at(12, day=10))
    # 10 June 2026 is a Wednesday; the weekly window closed on Monday the 8th at 08:00 local.
    assert digest_window(now=at(12), tz=ny, frequency="weekly", send_hour=8, weekday=0) == (
        at(12, day=1),
        at(12, day=8),
    )


def test_a_daily_window_across_a_dst_change_is_23_hours():
    start, end = digest_window(
        now=datetime(2026, 3, 8, 13, 0, tzinfo=UTC), tz="America/New_York", frequency="daily", send_hour=8
    )
    assert (start, end) == (datetime(2026, 3, 7, 13, 0, tzinfo=UTC), datetime(2026, 3, 8, 12, 0, tzinfo=UTC))


@pytest.mark.django_db
def test_held_items_become_one_digest_when_the_window_closes(news, make_user, publish):
    reader, other = make_user("reader"), make_user()
    Preference.objects.create(user=reader, digest_channels={Channel.LOG: "hourly"})
    events = [publish(news, title=title) for title in ("Alpha", "Beta", "Gamma")]
    # The first two arrived in the 10:00 window, the third after it closed.
    for event, created in zip(events, [at(10, 5), at(10, 40), at(11, 5)], strict=True):
        UserNotification.objects.filter(event=event).update(created_at=created)

    held = Delivery.objects.filter(notification__user=reader, channel=Channel.LOG)
    assert set(held.values_list("status", "not_before")) == {(DeliveryStatus.PENDING, DIGEST_HOLD)}
    # Someone without a digest gets each one as usual.
    assert set(Delivery.objects.filter(notification__user=other).values_list("not_before", flat=True)) == {None}

    assert digests_build(now=at(10, 59)) == 0  # the window is still open
    assert digests_build(now=at(11, 0)) == 1
    assert digests_build(now=at(11, 0)) == 0  # built once

    digest = Delivery.objects.get(notification__event__event_type__key="digest", notification__user=reader)
    assert (digest.channel, digest.status, digest.not_before) == (Channel.LOG, DeliveryStatus.PENDING, None)
    message = digest.notification
    assert message.in_inbox is False
    assert message.title == "Your hourly digest: 2 notifications"
    assert "News posted: Alpha" in message.body and "News posted: Beta" in message.body
    assert "Gamma" not in message.body

    items = {d.notification.event_id: d for d in held.select_related("notification")}
    assert items[events[0].pk].status == items[events[1].pk].status == DeliveryStatus.CANCELLED
    # Held for the digest from birth (the fan-out says why), then taken into it.
    history = DeliveryEvent.objects.filter(delivery=items[events[0].pk]).order_by("at", "pk")
    assert [(e.status, e.detail) for e in history] == [
        ("held", {"reason": "digest"}),
        (DeliveryStatus.CANCELLED, {"reason": "digested", "digest": digest.pk}),
    ]
    assert (items[events[2].pk].status, items[events[2].pk].not_before) == (DeliveryStatus.PENDING, DIGEST_HOLD)
    # The inbox still shows every item.
    assert UserNotification.objects.filter(user=reader, in_inbox=True).count() == 3

    assert digests_build(now=at(11, 59)) == 0
    assert digests_build(now=at(12, 0)) == 1
    second = Delivery.objects.filter(notification__event__event_type__key="digest").latest("pk").notification
    assert second.title == "Your hourly digest: 1 notification" and "Gamma" in second.body


@pytest.mark.django_db
def test_an_email_digest_has_text_and_html(news, make_user, publish):
    reader = make_user("mo")
    news.default_channels = ["email"]
    news.save(update_fields=["default_channels"])
    from apps.subscriptions.defaults import subscriptions_defaults_sync

    subscriptions_defaults_sync(event_type_id=news.pk)
    Preference.objects.create(user=reader, digest="daily")
    publish(news, title="<Launch>", url="https://example.com/launch")
    UserNotification.objects.filter(user=reader).update(created_at=at(6))
    assert digests_build(now=at(8, 0)) == 1  # daily at 08:00 UTC (the reader's time zone)

    digest = Delivery.objects.select_related("notification__user__profile", "notification__event__event_type").get(
        notification__event__event_type__key="digest"
    )
    rendered = render_delivery(digest)
    assert rendered.subject == "Your daily digest: 1 notification"
    assert "Hello mo" in rendered.text and "News posted: <Launch>" in rendered.text
    assert "News posted: &lt;Launch&gt;" in rendered.html and 'href="https://example.com/launch"' in rendered.html
    assert rendered.fallback_reason is None


@pytest.mark.django_db
def test_turning_the_digest_off_releases_what_was_held(news, make_user, publish):
    reader = make_user()
    preference = Preference.objects.create(user=reader, digest="hourly")
    publish(news)
    preference.digest = "off"
    preference.save(update_fields=["digest"])
    assert digests_build(now=at(11)) == 0
    assert list(Delivery.objects.filter(notification__user=reader).values_list("status", "not_before")) == [
        (DeliveryStatus.PENDING, None)
    ]
