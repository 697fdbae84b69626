"""Email open and click tracking end to end: a direct send through the API, a real
worker sending over SMTP into a real server on 127.0.0.1, and a real HTTP client
following the links of the email it received against the live web server."""

import httpx
import pytest
from bs4 import BeautifulSoup
from django.test import Client

from apps.common.services import api_key_create
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus, TrackedEmail
from apps.delivery.selectors import TemplateEngagement, template_engagement
from apps.templating.services import template_create

from ..worker import wait_until
from .providers import FINAL, provider_worker, smtp_env, wait_for_status

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def tracking_worker(smtp_sink, live_server, django_db_setup, django_db_blocker):
    env = {**smtp_env(smtp_sink), "PUBLIC_BASE_URL": live_server.url, "EMAIL_TRACKING_ENABLED": "true"}
    with django_db_blocker.unblock(), provider_worker("tracking", env) as worker:
        yield worker


@pytest.fixture
def service(live_server):
    _, raw = api_key_create(name="shop")
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {raw}"}) as client:
        yield client


def email_send(service, user) -> tuple[int, Delivery]:
    body = {"event_type": "scenario.executed", "recipients": [user.pk], "channels": ["email"], "data": {"name": "x"}}
    response = service.post("/api/v1/notifications/", json=body)
    assert response.status_code == 202, response.text
    send_id = response.json()["id"]
    delivery = wait_until(
        lambda: Delivery.objects.filter(notification__event__direct_send=send_id, channel="email").first(),
        message="the email delivery",
    )
    return send_id, wait_for_status(delivery.pk, FINAL)


def received(smtp_sink, address):
    [message] = wait_until(lambda: smtp_sink.received(address), message=f"the email to {address}")
    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    return message, BeautifulSoup(html, "html.parser"), text


def test_links_and_pixel_record_clicks_and_the_open_through_a_real_client(
    tracking_worker, smtp_sink, live_server, service, event_types, make_user, admin_user
):
    shop = "https://shop.example.com/orders/7?ref=mail&utm_source=notify"
    # A page of the live server itself, so the client can follow the redirect to the end.
    login = f"{live_server.url}/accounts/login/?next=/inbox/"
    template = template_create(
        event_type=event_types["scenario.executed"],
        channel="email",
        locale="en",
        subject="Your order",
        body=f"See {shop}",
        html=(
            f'<p><a href="{shop.replace("&", "&amp;")}">Your order</a> <a href="{login}">Sign in</a> '
            '<a href="mailto:help@example.com">Help</a></p>'
        ),
    )
    ann = make_user("ann")
    send_id, delivery = email_send(service, ann)
    assert delivery.status == DeliveryStatus.SENT
    message, html, text = received(smtp_sink, "ann@example.com")

    hrefs = [a["href"] for a in html.find_all("a")]
    shop_link, login_link, help_link, unsubscribe_link = hrefs
    assert shop_link.startswith(f"{live_server.url}/email/click/")
    assert login_link.startswith(f"{live_server.url}/email/click/") and login_link != shop_link
    assert help_link == "mailto:help@example.com"
    assert unsubscribe_link == message["List-Unsubscribe"].strip().strip("<>")
    # The plain-text part keeps the original link.
    assert shop in text and "/email/click/" not in text
    [pixel] = [img["src"] for img in html.find_all("img")]
    assert pixel.startswith(f"{live_server.url}/email/open/")

    with httpx.Client() as browser:
        first = browser.get(shop_link)
        assert first.status_code == 302 and first.headers["location"] == shop
        assert "no-store" in first.headers["cache-control"]
        followed = browser.get(login_link, follow_redirects=True)
        assert followed.status_code == 200 and str(followed.url) == login
        assert [r.status_code for r in followed.history] == [302]
        assert browser.get(shop_link).headers["location"] == shop  # a second click on the same link

        for _ in range(2):
            image = browser.get(pixel)
            assert image.status_code == 200 and image.headers["content-type"] == "image/gif"
            assert image.content.startswith(b"GIF89a") and "no-store" in image.headers["cache-control"]

    # The first open and the first click of each link are history; repeats only counted.
    events = list(DeliveryEvent.objects.filter(delivery=delivery, status__in=["opened", "clicked"]))
    timeline = [(e.status, e.detail.get("url")) for e in events]
    assert timeline == [("clicked", shop), ("clicked", login), ("opened", None)]
    tracked = TrackedEmail.objects.get(pk=delivery.pk)
    assert (tracked.opens, tracked.clicks, tracked.template_id) == (2, 3, template.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT  # engagement never moves the status

    # The send's timeline in the API shows them.
    detail = service.get(f"/api/v1/notifications/{send_id}/").json()
    [email] = [d for r in detail["recipients"] for d in r["deliveries"] if d["channel"] == "email"]
    assert [e["type"] for e in email["events"]] == ["pending", "sent", "clicked", "clicked", "opened"]

    # Counted per template, and shown on the template's admin page.
    figures = template_engagement(template_ids=[template.pk])[template.pk]
    assert figures == TemplateEngagement(sent=1, opened=1, clicked=1, opens=2, clicks=3)
    admin = Client()
    admin.force_login(admin_user)
    page = admin.get(f"/admin/templating/notificationtemplate/{template.pk}/change/")
    assert page.status_code == 200
    assert "Sent 1 · opened 1 (100%) · clicked 1 (100%) · 2 opens and 3 clicks in all" in page.text


def test_a_template_that_turns_tracking_off_sends_its_links_untouched(
    tracking_worker, smtp_sink, service, event_types, make_user
):
    shop = "https://shop.example.com/orders/8"
    template_create(
        event_type=event_types["scenario.executed"],
        channel="email",
        locale="en",
        subject="Your order",
        body="See the order.",
        html=f'<p><a href="{shop}">Your order</a></p>',
        email_tracking=False,
    )
    bea = make_user("bea")
    _, delivery = email_send(service, bea)
    assert delivery.status == DeliveryStatus.SENT
    _, html, _ = received(smtp_sink, "bea@example.com")
    assert html.find("a")["href"] == shop and html.find("img") is None
    assert not TrackedEmail.objects.filter(pk=delivery.pk).exists()
