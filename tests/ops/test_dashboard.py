"""The delivery dashboard and a notification's story in the admin: who may see and do
what, and that the figures are those of the rows made here."""

import base64
import json
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from apps.dashboard import selectors
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.events.models import Event
from apps.notifications.models import UserNotification

pytestmark = pytest.mark.django_db

DASHBOARD = "admin:dashboard_deliverydashboard_changelist"


@pytest.fixture
def staff(django_user_model):
    def staff(group: str | None, username: str | None = None):
        username = username or f"{group}-person"
        user = django_user_model.objects.create_user(username, f"{username}@example.com", "pw-123456789", is_staff=True)
        if group:
            user.groups.add(Group.objects.get(name=group))
        return user

    return staff


@pytest.fixture
def event(event_types):
    return Event.objects.create(event_type=event_types["scenario.created"], data={"name": "Checkout"})


@pytest.fixture
def make_delivery(make_user, event):
    counter = iter(range(1, 100_000))

    def make(channel="log", status=DeliveryStatus.PENDING, *, created_at=None, updated_at=None, **fields):
        now = timezone.now()
        user = make_user(f"person{next(counter)}")
        item = UserNotification.objects.create(event=event, user=user, title="Hello", created_at=now)
        return Delivery.objects.create(
            notification=item,
            channel=channel,
            status=status,
            created_at=created_at or now,
            updated_at=updated_at or created_at or now,
            **fields,
        )

    return make


# The requeue tests use sms: a queue no shared test worker consumes, so what is
# enqueued stays to be seen (and is removed again after the test).
QUEUE = "sms"


def queued_delivery_ids() -> list[list[int]]:
    """The delivery ids of each dispatch message waiting in the sms queue."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    bodies = [json.loads(raw) for raw in client.lrange(QUEUE, 0, -1)]
    return [json.loads(base64.b64decode(body["body"]))[0][1] for body in bodies]


@pytest.fixture
def sms_queue():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    found = set(client.lrange(QUEUE, 0, -1))
    yield
    for raw in set(client.lrange(QUEUE, 0, -1)) - found:
        client.lrem(QUEUE, 0, raw)


def test_the_migration_makes_a_read_only_support_group_and_an_operator_group(staff):
    support, operator = staff("support"), staff("operator")
    for user in (support, operator):
        assert user.has_perm("delivery.view_delivery")
        assert user.has_perm("notifications.view_usernotification")
        assert not user.has_perm("delivery.change_delivery")
        assert not user.has_perm("delivery.delete_delivery")
    assert not support.has_perm("delivery.requeue_delivery")
    assert not support.has_perm("delivery.cancel_delivery")
    assert operator.has_perm("delivery.requeue_delivery")
    assert operator.has_perm("delivery.cancel_delivery")


def test_the_admin_index_links_to_the_dashboard(client, staff):
    client.force_login(staff("support"))
    page = client.get(reverse("admin:index"))
    assert reverse(DASHBOARD).encode() in page.content


def test_non_staff_are_sent_to_the_sign_in_page_and_change_nothing(client, make_user, make_delivery):
    dead = make_delivery(status=DeliveryStatus.DEAD, attempts=5)
    client.force_login(make_user("someone"))
    for response in (
        client.get(reverse(DASHBOARD)),
        client.post(reverse("admin:dashboard_delivery_requeue", args=[dead.pk])),
        client.get(reverse("admin:dashboard_notification_story", args=[dead.notification_id])),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (DeliveryStatus.DEAD, 5)
    assert not DeliveryEvent.objects.exists()


def test_staff_outside_both_groups_may_not_open_it(client, staff):
    client.force_login(staff(None, "plain-staff"))
    assert client.get(reverse(DASHBOARD)).status_code == 403


def test_support_sees_the_dashboard_but_cannot_requeue_or_cancel(
    client, staff, make_delivery, django_capture_on_commit_callbacks, sms_queue
):
    dead = make_delivery("sms", status=DeliveryStatus.DEAD, attempts=5, last_error="550 mailbox unavailable")
    client.force_login(staff("support"))
    page = client.get(reverse(DASHBOARD))
    assert page.status_code == 200
    assert b'<svg id="minute-chart"' in page.content
    assert f'data-delivery="{dead.pk}"'.encode() in page.content
    assert b"Requeue</button>" not in page.content and b"Cancel</button>" not in page.content

    before = queued_delivery_ids()
    with django_capture_on_commit_callbacks(execute=True):
        refused = [
            client.post(reverse("admin:dashboard_delivery_requeue", args=[dead.pk])),
            client.post(reverse("admin:dashboard_delivery_cancel", args=[dead.pk])),
            client.post(
                reverse("admin:delivery_delivery_changelist"), {"action": "requeue", "_selected_action": [dead.pk]}
            ),
        ]
    # The dashboard's buttons refuse; the admin's own action is not offered to support.
    assert [r.status_code for r in refused[:2]] == [403, 403]
    assert b'value="requeue"' not in client.get(reverse("admin:delivery_delivery_changelist")).content
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (DeliveryStatus.DEAD, 5)
    assert not DeliveryEvent.objects.filter(delivery=dead).exists()
    assert queued_delivery_ids() == before


def test_operator_requeue_puts_the_delivery_back_to_pending_and_enqueues_it(
    client, staff, make_delivery, django_capture_on_commit_callbacks, sms_queue
):
    dead = make_delivery("sms", status=DeliveryStatus.DEAD, attempts=5, last_error="timeout")
    client.force_login(staff("operator"))
    page = client.get(reverse(DASHBOARD))
    assert f'aria-label="Requeue delivery {dead.pk}"'.encode() in page.content

    before = queued_delivery_ids()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:dashboard_delivery_requeue", args=[dead.pk]), {"page": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse(DASHBOARD) + "?page=1"
    dead.refresh_from_db()
    assert (dead.status, dead.attempts, dead.last_error) == (DeliveryStatus.PENDING, 0, "")
    assert DeliveryEvent.objects.get(delivery=dead).detail == {"requeued_by": "operator-person"}
    # Kombu pushes new messages at the head of the list.
    assert queued_delivery_ids() == [[dead.pk], *before]


def test_operator_cancels_a_dead_letter_and_a_sent_delivery_stays_sent(client, staff, make_delivery):
    dead = make_delivery(status=DeliveryStatus.DEAD)
    sent = make_delivery(status=DeliveryStatus.SENT)
    client.force_login(staff("operator"))
    for delivery in (dead, sent):
        assert client.post(reverse("admin:dashboard_delivery_cancel", args=[delivery.pk])).status_code == 302
    dead.refresh_from_db()
    sent.refresh_from_db()
    assert (dead.status, sent.status) == (DeliveryStatus.CANCELLED, DeliveryStatus.SENT)


def test_requeue_answers_only_post(client, staff, make_delivery):
    dead = make_delivery(status=DeliveryStatus.DEAD)
    client.force_login(staff("operator"))
    assert client.get(reverse("admin:dashboard_delivery_requeue", args=[dead.pk])).status_code == 405
    dead.refresh_from_db()
    assert dead.status == DeliveryStatus.DEAD


def test_counts_by_channel_and_status_over_the_last_hour_and_day(make_delivery):
    now = timezone.now()
    make_delivery("email", DeliveryStatus.SENT, created_at=now - timedelta(minutes=10))
    make_delivery("email", DeliveryStatus.SENT, created_at=now - timedelta(minutes=50))
    make_delivery("email", DeliveryStatus.DEAD, created_at=now - timedelta(hours=3))
    make_delivery("sms", DeliveryStatus.PENDING, created_at=now - timedelta(minutes=1))
    make_delivery("sms", DeliveryStatus.FAILED, created_at=now - timedelta(hours=23))
    make_delivery("email", DeliveryStatus.SENT, created_at=now - timedelta(days=2))  # outside both windows
    make_delivery("email", DeliveryStatus.SENT, created_at=now + timedelta(minutes=5))  # after `now`

    counts = {row.channel: row for row in selectors.status_counts(now=now)}
    assert counts["email"].last_hour == {**dict.fromkeys(DeliveryStatus.values, 0), "sent": 2}
    assert counts["email"].last_day == {**dict.fromkeys(DeliveryStatus.values, 0), "sent": 2, "dead": 1}
    assert counts["sms"].last_hour == {**dict.fromkeys(DeliveryStatus.values, 0), "pending": 1}
    assert counts["sms"].last_day == {**dict.fromkeys(DeliveryStatus.values, 0), "pending": 1, "failed": 1}
    assert sum(counts["push"].last_day.values()) == 0


def test_sent_and_failed_per_minute_over_the_last_hour(make_delivery):
    now = timezone.now().replace(second=30, microsecond=0)
    minute = now.replace(second=0)
    for back in (0, 0, 5):
        make_delivery("email", DeliveryStatus.SENT, sent_at=now - timedelta(minutes=back))
    make_delivery("email", DeliveryStatus.DELIVERED, sent_at=now - timedelta(minutes=59))
    make_delivery("email", DeliveryStatus.SENT, sent_at=now - timedelta(minutes=61))  # before the window
    make_delivery("sms", DeliveryStatus.DEAD, updated_at=now - timedelta(minutes=5))
    make_delivery("sms", DeliveryStatus.FAILED, updated_at=now - timedelta(minutes=20))
    make_delivery("sms", DeliveryStatus.FAILED, updated_at=now - timedelta(hours=2))  # before the window
    make_delivery("sms", DeliveryStatus.PENDING, updated_at=now)  # neither

    series = selectors.sent_failed_per_minute(now=now)
    assert len(series.minutes) == 60
    assert series.minutes[-1] == minute and series.minutes[0] == minute - timedelta(minutes=59)
    expected_sent = [0] * 60
    expected_sent[59], expected_sent[54], expected_sent[0] = 2, 1, 1
    expected_failed = [0] * 60
    expected_failed[54], expected_failed[39] = 1, 1
    assert series.sent == expected_sent
    assert series.failed == expected_failed


def test_the_page_shows_the_counts_and_draws_the_series(client, staff, make_delivery):
    now = timezone.now()
    make_delivery("webhook", DeliveryStatus.SENT, created_at=now - timedelta(minutes=3), sent_at=now)
    make_delivery("webhook", DeliveryStatus.SENT, created_at=now - timedelta(hours=5), sent_at=now)
    client.force_login(staff("support"))
    page = client.get(reverse(DASHBOARD)).content.decode()
    row = page.split('<tr data-channel="webhook">', 1)[1].split("</tr>", 1)[0]
    assert 'data-status="sent" data-hour="1" data-day="2"' in row
    assert 'data-series="sent"' in page and 'data-series="failed"' in page
    assert "sent (2)" in page
    assert 'id="oldest-pending"' in page and 'data-queue="log"' in page
    # Drawn on the server: the dashboard loads no script at all.
    assert "<script" not in page.split('id="delivery-dashboard"', 1)[1]


def test_dead_letters_are_paginated_newest_first(client, staff, make_delivery):
    now = timezone.now()
    dead = [make_delivery(status=DeliveryStatus.DEAD, updated_at=now - timedelta(minutes=i)) for i in range(30)]
    first = selectors.dead_letters_page(page=1)
    second = selectors.dead_letters_page(page=2)
    assert [d.pk for d in first] == [d.pk for d in dead[:25]]
    assert [d.pk for d in second] == [d.pk for d in dead[25:]]
    client.force_login(staff("support"))
    page = client.get(reverse(DASHBOARD), {"page": 2}).content.decode()
    assert f'data-delivery="{dead[29].pk}"' in page and f'data-delivery="{dead[0].pk}"' not in page
    assert "Page 2 of 2" in page


def test_providers_show_their_circuit_and_headroom_read_only(client, staff, settings):
    from apps.delivery.resilience.circuit import provider_circuit
    from apps.delivery.resilience.ratelimit import provider_take

    settings.PROVIDER_RATE_LIMITS = {"twilio": 10.0}
    settings.PROVIDER_RATE_LIMIT_BURST_SECONDS = 10.0
    settings.CIRCUIT_FAILURE_THRESHOLD = 2
    circuit = provider_circuit("smtp")
    circuit.reset()
    circuit.record_failure()
    circuit.record_failure()
    assert provider_take("twilio", 60).granted == 60
    try:
        client.force_login(staff("support"))
        first = client.get(reverse(DASHBOARD)).content.decode()
        second = client.get(reverse(DASHBOARD)).content.decode()
    finally:
        circuit.reset()
    smtp = first.split('<tr data-provider="smtp">', 1)[1].split("</tr>", 1)[0]
    assert 'data-circuit="open"' in smtp and ">2<" in smtp
    twilio = first.split('<tr data-provider="twilio">', 1)[1].split("</tr>", 1)[0]
    # 100 - 60 taken, refilled at 10/s for the moments since: about 40, never spent by looking.
    assert "of 100 messages" in twilio
    assert 40 <= int(twilio.split("of 100 messages")[0].rsplit(">", 1)[1].strip()) <= 60
    assert "of 100 messages" in second
    assert provider_take("twilio", 100).granted >= 40


def test_the_story_shows_event_deliveries_timeline_content_and_provider_answers(client, staff, make_delivery, event):
    event.data = {"name": "<script>alert(1)</script>"}
    event.save()
    delivery = make_delivery("log", DeliveryStatus.SENT, provider_message_id="msg-123")
    item = delivery.notification
    item.title = "Scenario <b>Checkout</b>"
    item.save()
    DeliveryEvent.objects.create(delivery=delivery, status="sending", detail={"attempt": 1})
    DeliveryEvent.objects.create(delivery=delivery, status="sent", detail={"provider": "log", "logged": True})
    email = Delivery.objects.create(
        notification=item,
        channel="email",
        status=DeliveryStatus.PENDING,
        created_at=item.created_at,
        updated_at=item.created_at,
    )
    other = make_delivery("log")

    client.force_login(staff("support"))
    response = client.get(reverse("admin:dashboard_notification_story", args=[item.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "scenario.created" in page and f"#{event.pk}" in page
    assert item.user.username in page and other.notification.user.username in page
    article = page.split(f'data-delivery="{delivery.pk}"', 1)[1].split("</article>", 1)[0]
    timeline = article.split('class="timeline"', 1)[1].split("</table>", 1)[0]
    assert timeline.index("sending") < timeline.index("sent</td>")
    assert "msg-123" in article
    assert "provider-answers" in article and "logged" in article
    # The rendered content, escaped: markup from events is shown, never run.
    assert "Scenario &lt;b&gt;Checkout&lt;/b&gt;" in article
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # The email's HTML part is shown as its source, escaped, never as markup of the page.
    mail = page.split(f'data-delivery="{email.pk}"', 1)[1].split("</article>", 1)[0]
    assert f"To</dt><dd>{item.user.email}</dd>" in mail
    html = mail.split('<pre class="content-html">', 1)[1].split("</pre>", 1)[0]
    assert html.startswith("&lt;") and "<" not in html
    assert "<b>Checkout</b>" not in page


def test_the_delivery_and_notification_change_pages_link_to_the_story(client, staff, make_delivery, django_user_model):
    delivery = make_delivery("log")
    story = reverse("admin:dashboard_notification_story", args=[delivery.notification_id])
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789"))
    for url in (
        reverse("admin:delivery_delivery_change", args=[delivery.pk]),
        reverse("admin:notifications_usernotification_change", args=[delivery.notification_id]),
    ):
        assert story.encode() in client.get(url).content, url


def test_a_direct_send_links_to_its_items_and_a_story(client, make_delivery, event, django_user_model):
    from apps.notifications.models import DirectSend

    delivery = make_delivery("log")
    send = DirectSend.objects.create(event=event)
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789"))
    page = client.get(reverse("admin:notifications_directsend_change", args=[send.pk])).content.decode()
    assert reverse("admin:dashboard_notification_story", args=[delivery.notification_id]) in page
    items = reverse("admin:notifications_usernotification_changelist") + f"?event__id__exact={event.pk}"
    assert items in page
    listed = client.get(items)
    assert listed.status_code == 200
    assert delivery.notification.title in listed.content.decode()


def test_the_chart_puts_each_minute_where_its_count_says():
    from apps.dashboard import charts

    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=59)
    minutes = [start + timedelta(minutes=i) for i in range(60)]
    sent, failed = [0] * 60, [0] * 60
    sent[0], sent[59], failed[30] = 10, 3, 7
    chart = charts.minute_chart(selectors.MinuteSeries(minutes, sent, failed))
    bottom, top = charts.HEIGHT - charts.BOTTOM, charts.TOP
    sent_points = [tuple(map(float, p.split(","))) for p in chart.lines[0].points.split()]
    assert len(sent_points) == 60
    assert sent_points[0] == (charts.LEFT, top)  # 10 is the axis' top (its round ceiling)
    assert sent_points[59] == (charts.WIDTH - charts.RIGHT, bottom - (bottom - top) * 3 / 10)
    assert sent_points[30][1] == bottom
    failed_points = [tuple(map(float, p.split(","))) for p in chart.lines[1].points.split()]
    assert failed_points[30][1] == pytest.approx(bottom - (bottom - top) * 7 / 10, abs=0.05)
    assert [tick.label for tick in chart.y_ticks] == ["0", "5", "10"]
    assert (chart.lines[0].total, chart.lines[1].total) == (13, 7)
