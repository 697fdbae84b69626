"""Preferences applied by the fan-out: opt-outs, defaults, mutes, quiet hours, critical."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.events.models import EventType
from apps.notifications.fanout import event_fan_out
from apps.notifications.models import UserNotification
from apps.notifications.publish import event_publish
from apps.subscriptions.defaults import subscriptions_defaults_sync
from apps.subscriptions.models import Preference, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts(db):
    """An event type people get in the inbox and by email and SMS unless they opt out."""
    return EventType.objects.create(
        key="build.failed", name="Build failed", default_channels=["in_app", "email", "sms"]
    )


def fan_out(event_type, data=None):
    event, _ = event_publish(event_type=event_type, data=data or {"name": "x"})
    event_fan_out(event_id=event.pk)
    return event


def deliveries(event, user):
    return {d.channel: d for d in Delivery.objects.filter(notification__event=event, notification__user=user)}


def quiet_now():
    """Quiet hours around the real now, in UTC (the fan-out applies them at its now)."""
    now = timezone.now()
    return (now - timedelta(hours=1)).time().replace(second=0, microsecond=0), (now + timedelta(hours=2)).time()


def test_new_people_get_the_event_types_default_channels(alerts, make_user):
    user = make_user()
    rows = Subscription.objects.filter(user=user, event_type=alerts)
    assert sorted(rows.values_list("channel", "enabled", "is_default")) == [
        ("email", True, True),
        ("in_app", True, True),
        ("sms", True, True),
    ]
    event = fan_out(alerts)
    assert UserNotification.objects.get(event=event, user=user).in_inbox is True
    assert set(deliveries(event, user)) == {"email", "sms"}


def test_changed_defaults_reach_everyone_but_keep_each_persons_choices(alerts, make_user, client_for):
    chooser, follower = make_user(), make_user()
    client_for(chooser).put(
        "/api/v1/preferences/",
        {"subscriptions": [{"event_type": "build.failed", "channel": "sms", "enabled": True}]},
        format="json",
    )
    alerts.default_channels = ["in_app", "push"]
    alerts.save(update_fields=["default_channels"])
    assert subscriptions_defaults_sync(event_type_id=alerts.pk, chunk_size=1) == 2  # push for both
    channels = lambda user: sorted(Subscription.objects.filter(user=user).values_list("channel", flat=True))  # noqa: E731
    assert channels(follower) == ["in_app", "push"]
    assert channels(chooser) == ["in_app", "push", "sms"]  # their explicit SMS row stays


def test_an_opted_out_channel_gets_no_delivery(alerts, make_user, client_for):
    user = make_user()
    response = client_for(user).put(
        "/api/v1/preferences/",
        {"subscriptions": [{"event_type": "build.failed", "channel": "email", "enabled": False}]},
        format="json",
    )
    assert response.status_code == 200
    event = fan_out(alerts)
    assert set(deliveries(event, user)) == {"sms"}


def test_muted_channels_and_mute_until_cancel_with_a_reason(alerts, make_user):
    muted_email, muted_all, mute_over = make_user(), make_user(), make_user()
    Preference.objects.create(user=muted_email, muted_channels=["email"])
    Preference.objects.create(user=muted_all, mute_until=timezone.now() + timedelta(hours=1))
    Preference.objects.create(user=mute_over, mute_until=timezone.now() - timedelta(minutes=1))
    event = fan_out(alerts)

    assert {c: d.status for c, d in deliveries(event, muted_email).items()} == {
        "email": DeliveryStatus.CANCELLED,
        "sms": DeliveryStatus.PENDING,
    }
    assert {d.status for d in deliveries(event, muted_all).values()} == {DeliveryStatus.CANCELLED}
    assert {d.status for d in deliveries(event, mute_over).values()} == {DeliveryStatus.PENDING}
    history = DeliveryEvent.objects.get(delivery=deliveries(event, muted_email)["email"])
    assert (history.status, history.detail) == ("cancelled", {"reason": "muted"})
    # The inbox still shows it: in-app is not a muted channel.
    assert UserNotification.objects.get(event=event, user=muted_all).in_inbox is True


def test_quiet_hours_hold_email_and_sms_but_not_the_inbox_or_log(alerts, make_user, subscribe):
    sleeper, awake = make_user(), make_user()
    start, end = quiet_now()
    Preference.objects.create(user=sleeper, quiet_start=start, quiet_end=end)
    subscribe(sleeper, alerts, Channel.LOG)
    before = timezone.now()
    event = fan_out(alerts)

    held = deliveries(event, sleeper)
    assert held["email"].not_before is not None and held["email"].not_before > before
    assert held["sms"].not_before == held["email"].not_before
    assert held["log"].not_before is None  # only email, SMS and push are held
    assert all(d.status == DeliveryStatus.PENDING for d in held.values())
    assert {d.not_before for d in deliveries(event, awake).values()} == {None}
    assert UserNotification.objects.get(event=event, user=sleeper).in_inbox is True


def test_critical_event_types_pass_opt_outs_mutes_and_quiet_hours(make_user, subscribe):
    outage = EventType.objects.create(key="security.alert", name="Security alert", critical=True)
    user = make_user()
    subscribe(user, outage, Channel.IN_APP, enabled=False)
    subscribe(user, outage, Channel.EMAIL, enabled=False)
    subscribe(user, outage, Channel.SMS)
    start, end = quiet_now()
    Preference.objects.create(
        user=user,
        muted_channels=["sms"],
        mute_until=timezone.now() + timedelta(days=1),
        quiet_start=start,
        quiet_end=end,
    )
    event = fan_out(outage)
    got = deliveries(event, user)
    assert set(got) == {"email", "sms"}
    assert {(d.status, d.not_before) for d in got.values()} == {(DeliveryStatus.PENDING, None)}
    assert UserNotification.objects.get(event=event, user=user).in_inbox is True


def test_a_suppressed_address_is_cancelled_in_the_fan_out_too(alerts, make_user):
    """The suppression list is part of the one policy: a subscriber whose email bounced
    hard gets no email from a fan-out (SMS still goes); a critical type passes."""
    from apps.delivery.models import Suppression
    from apps.delivery.suppressions import suppression_record

    bounced = make_user("Bounced")  # the list compares addresses lower-cased
    bounced.profile.phone = "+14155550111"
    bounced.profile.save()
    other = make_user()
    assert suppression_record(address="BOUNCED@example.com", channel="email", reason="bounced")
    assert Suppression.objects.get().address == "bounced@example.com"
    event = fan_out(alerts)
    assert {c: (d.status, d.last_error) for c, d in deliveries(event, bounced).items()} == {
        "email": (DeliveryStatus.CANCELLED, "suppressed"),
        "sms": (DeliveryStatus.PENDING, ""),
    }
    history = DeliveryEvent.objects.get(delivery=deliveries(event, bounced)["email"])
    assert (history.status, history.detail) == ("cancelled", {"reason": "suppressed"})
    assert {d.status for d in deliveries(event, other).values()} == {DeliveryStatus.PENDING}

    alerts.critical = True
    alerts.save()
    critical = fan_out(alerts)
    assert deliveries(critical, bounced)["email"].status == DeliveryStatus.PENDING
