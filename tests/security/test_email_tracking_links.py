"""The tracking redirect and pixel attacked through HTTP against a live server: no
token that was not made here, and no link that was not in the email, leads anywhere
or records anything."""

import base64
import json

import httpx
import pytest
from django.core import signing

from apps.delivery.engagement import tracked_emails_record
from apps.delivery.models import DeliveryEvent, TrackedEmail
from apps.delivery.tracking import CLICK_SALT, click_url, open_url
from apps.delivery.unsubscribe import unsubscribe_url

from ..delivery.factories import make_delivery

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "https://shop.example.com/orders/1?ref=mail"
EVIL = "https://evil.example/phish"


@pytest.fixture
def base(settings, live_server):
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def browser():
    with httpx.Client() as client:
        yield client


def track(delivery, links):
    """As dispatch records a tracked email's links before sending it."""
    tracked_emails_record(emails={delivery.pk: {"template_id": None, "links": links}})


@pytest.fixture
def ann_delivery(event_types, make_user):
    delivery = make_delivery(make_user("ann"), event_types["scenario.executed"], "email")
    track(delivery, [SHOP])
    return delivery


def assert_refused(response, status=404):
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    if response.request.method != "HEAD":  # HEAD: the same answer without its body
        assert response.json()["error"]["code"] == {404: "not_found", 405: "method_not_allowed"}[status]
    assert "location" not in response.headers


def assert_nothing_recorded():
    assert not DeliveryEvent.objects.filter(status__in=["opened", "clicked"]).exists()
    assert all(t.opens == 0 and t.clicks == 0 and not t.clicked_links for t in TrackedEmail.objects.all())


def forged(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_a_tampered_or_unsigned_click_token_is_404(base, browser, ann_delivery, event_types, make_user):
    genuine = click_url(delivery_id=ann_delivery.pk, index=0)
    token = genuine.rstrip("/").rsplit("/", 1)[1]
    payload, stamp, signature = token.split(":")
    other = make_delivery(make_user("bob"), event_types["scenario.executed"], "email")
    track(other, [EVIL])
    attempts = [
        # The signature altered.
        f"{payload}:{stamp}:{signature[:-4]}AAAA",
        # Another delivery's id (its email holds EVIL) under this token's signature.
        f"{forged([other.pk, 0])}:{stamp}:{signature}",
        # No signature at all.
        forged([ann_delivery.pk, 0]),
        # Signed here, but for something else: the unsubscribe link, the open pixel.
        unsubscribe_url(user_id=ann_delivery.notification.user_id, event_type_id=1, channel="email").rsplit("/", 2)[1],
        open_url(delivery_id=ann_delivery.pk).rsplit("/", 1)[1].removesuffix(".gif"),
    ]
    for attempt in attempts:
        assert_refused(browser.get(f"{base}/email/click/{attempt}/"))
    assert_nothing_recorded()

    # The genuine link still goes where the email said, whatever the query adds.
    response = browser.get(f"{genuine}?url={EVIL}&next={EVIL}")
    assert response.status_code == 302 and response.headers["location"] == SHOP


def test_a_signed_token_for_a_link_the_email_did_not_have_is_404(base, browser, ann_delivery, event_types, make_user):
    untracked = make_delivery(make_user("cat"), event_types["scenario.executed"], "email")
    for url in (
        click_url(delivery_id=ann_delivery.pk, index=1),  # past the email's links
        click_url(delivery_id=untracked.pk, index=0),  # an email sent without tracking
        click_url(delivery_id=10**9, index=0),  # no such delivery
    ):
        assert_refused(browser.get(url))
        assert_refused(browser.head(url))
    assert_nothing_recorded()


def test_only_http_and_https_targets_are_followed(base, browser, event_types, make_user):
    """Rendering never records other schemes; were one stored anyway, the redirect
    still refuses it."""
    delivery = make_delivery(make_user("dan"), event_types["scenario.executed"], "email")
    links = ["javascript:alert(document.cookie)", "//evil.example/phish", "data:text/html,<script>x</script>"]
    TrackedEmail.objects.create(delivery=delivery, links=links)
    for index in range(len(links)):
        assert_refused(browser.get(click_url(delivery_id=delivery.pk, index=index)))
    assert_nothing_recorded()


def test_a_bad_pixel_token_is_404_and_records_no_open(base, browser, ann_delivery, event_types, make_user):
    genuine = open_url(delivery_id=ann_delivery.pk)
    untracked = make_delivery(make_user("eve"), event_types["scenario.executed"], "email")
    attempts = [
        genuine[: -len(".gif") - 4] + "AAAA.gif",
        f"{base}/email/open/{forged(ann_delivery.pk)}.gif",
        f"{base}/email/open/{signing.dumps(ann_delivery.pk, salt=CLICK_SALT)}.gif",
        open_url(delivery_id=untracked.pk),
    ]
    for attempt in attempts:
        assert_refused(browser.get(attempt))
        assert_refused(browser.head(attempt))
    assert_nothing_recorded()


def test_other_methods_are_405_and_head_counts_nothing(base, browser, ann_delivery):
    click, pixel = click_url(delivery_id=ann_delivery.pk, index=0), open_url(delivery_id=ann_delivery.pk)
    for url in (click, pixel):
        assert_refused(browser.post(url), status=405)
    # What a link scanner sends first is answered and not counted.
    assert browser.head(click).headers["location"] == SHOP
    assert browser.head(pixel).status_code == 200
    assert_nothing_recorded()
