"""Email over SMTP with a real worker into a real SMTP server (aiosmtpd on 127.0.0.1)."""

from urllib.parse import urlparse

import pytest
from django.test import Client

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.notifications.publish import event_publish
from apps.subscriptions.models import Subscription

from ..worker import wait_until
from .providers import FINAL, provider_worker, smtp_env, wait_for_status

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def smtp_worker(smtp_sink, django_db_setup, django_db_blocker):
    env = {
        **smtp_env(smtp_sink),
        "DEFAULT_FROM_EMAIL": "alerts@notify.example.com",
        "PUBLIC_BASE_URL": "https://notify.example.com",
        "DELIVERY_RETRY_BACKOFF_SECONDS": "0.5",
        "DELIVERY_MAX_ATTEMPTS_BY_CHANNEL": "email=2",
    }
    with django_db_blocker.unblock(), provider_worker("smtp", env) as worker:
        yield worker


def publish(event_type, **data):
    event, _ = event_publish(event_type=event_type, data={"name": "Checkout", **data})
    return event


def deliveries_of(event):
    return {
        d.notification.user.email: d
        for d in Delivery.objects.filter(notification__event=event).select_related("notification__user")
    }


def test_email_arrives_with_html_text_and_one_click_unsubscribe(
    smtp_worker, smtp_sink, event_types, make_user, subscribe
):
    created = event_types["scenario.created"]
    ann = make_user("ann")
    subscription = subscribe(ann, created, channel=Channel.EMAIL)
    event = publish(created)

    delivery = wait_for_status(deliveries_of_one(event, "ann@example.com"), FINAL)
    assert delivery.status == DeliveryStatus.SENT
    [message] = wait_until(lambda: smtp_sink.received("ann@example.com"), message="the email")

    assert message["Subject"] == 'Scenario "Checkout" created'
    assert message["From"] == "alerts@notify.example.com"
    assert message["Message-ID"] == delivery.provider_message_id
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert 'Scenario "Checkout" created' in text and "<h1" not in text
    assert "<h1" in html and "Scenario &quot;Checkout&quot; created" in html

    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip().strip("<>")
    assert link.startswith("https://notify.example.com/unsubscribe/")
    assert link in text and link in html  # the footer carries the same link

    path = urlparse(link).path
    browser = Client()
    # Following the link (GET) only asks; a link scanner changes nothing.
    page = browser.get(path)
    assert page.status_code == 200 and b'method="post"' in page.content
    subscription.refresh_from_db()
    assert subscription.enabled

    # A tampered token is refused and writes nothing.
    assert browser.post(path[:-3] + "xx/").status_code == 400
    subscription.refresh_from_db()
    assert subscription.enabled

    # The one-click POST (what a mail client sends) turns that subscription off, only it.
    other = subscribe(ann, event_types["scenario.deleted"], channel=Channel.EMAIL)
    response = browser.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscription.refresh_from_db()
    other.refresh_from_db()
    assert subscription.enabled is False and other.enabled is True
    assert Subscription.objects.filter(user=ann, enabled=False).count() == 1


def deliveries_of_one(event, email):
    return wait_until(lambda: deliveries_of(event).get(email), message=f"delivery to {email}").pk


def test_one_connection_per_batch_and_each_recipient_classified(
    smtp_worker, smtp_sink, event_types, make_user, subscribe
):
    executed = event_types["scenario.executed"]
    names = ["good-1", "refuse-2", "good-3", "busy-4", "good-5"]
    for name in names:
        subscribe(make_user(name), executed, channel=Channel.EMAIL)
    sessions_before = smtp_sink.sessions
    event = publish(executed)
    wait_until(lambda: len(deliveries_of(event)) == 5, message="five deliveries")
    by_email = {email: wait_for_status(d.pk, FINAL) for email, d in deliveries_of(event).items()}

    for name in ("good-1", "good-3", "good-5"):
        assert by_email[f"{name}@example.com"].status == DeliveryStatus.SENT
        assert len(smtp_sink.received(f"{name}@example.com")) == 1
    # 550: refused for good, failed after its one attempt.
    refused = by_email["refuse-2@example.com"]
    assert refused.status == DeliveryStatus.FAILED and refused.attempts == 1
    [event_row] = refused.events.all()
    assert event_row.detail["smtp_code"] == 550 and "No such user" in str(event_row.detail["smtp_reply"])
    # 451: tried again, and dead once its two attempts are spent.
    busy = wait_for_status(by_email["busy-4@example.com"].pk, DeliveryStatus.DEAD)
    assert busy.attempts == 2
    assert [e.status for e in busy.events.all()] == ["pending", "dead"]
    assert all(e.detail["smtp_code"] == 451 for e in busy.events.all())
    # The first batch (all five) went over a single connection; the retry opened one more.
    assert smtp_sink.sessions - sessions_before == 2
