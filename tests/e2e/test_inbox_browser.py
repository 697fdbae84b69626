"""End to end in headless Chromium: a person watches their inbox while someone else
creates a scenario through the API; the item arrives without a reload (SSE over Redis
pub/sub from a real worker), they mark it read and the bell's count drops."""

import pytest
from rest_framework.authtoken.models import Token

from apps.notifications.models import UserNotification

from ..inbox.servers import UvicornThread
from ..scenarios_http import scenario_post
from ..worker import ROOT, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCREENSHOT = ROOT / ".pytest_cache" / "inbox-e2e.png"


@pytest.fixture
def web_server(django_db_setup):
    """The whole web under uvicorn, as `make run` serves it: pages, API and stream on
    one origin."""
    with UvicornThread() as server:
        yield server


def test_notification_arrives_live_and_mark_read_drops_the_count(
    browser_page, web_server, celery_worker, settings, make_user, subscribe, event_types
):
    settings.INBOX_STREAM_KEEPALIVE_SECONDS = 1
    page = browser_page
    alice, bob = make_user("alice"), make_user("bob")
    subscribe(alice, event_types["scenario.created"])

    page.goto(f"{web_server.url}/inbox/")
    assert page.url.startswith(f"{web_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("secret-pass-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{web_server.url}/inbox/")
    page.wait_for_selector("body[data-stream='open']")
    badge = page.locator("#unread-count")
    assert badge.inner_text() == "0"
    assert page.get_by_text("Nothing here yet.").is_visible()
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    scenario_post(web_server.url, Token.objects.create(user=bob).key, "Checkout flow")

    item = page.locator("#items li").filter(has_text='Scenario "Checkout flow" created')
    item.wait_for()
    wait_until(lambda: badge.inner_text() == "1", timeout=10, message="the bell to show 1")
    assert page.evaluate("window.sameDocument") is True
    assert "Checkout flow" in page.locator("#live-announcer").inner_text()
    assert "unread" in (item.get_attribute("class") or "")

    item.get_by_role("button", name="Mark read").click()
    wait_until(lambda: badge.inner_text() == "0", timeout=10, message="the bell to drop to 0")
    item.get_by_role("button", name="Mark unread").wait_for()
    assert "unread" not in (item.get_attribute("class") or "")
    assert page.evaluate("window.sameDocument") is True
    assert UserNotification.objects.get(user=alice).read_at is not None

    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    print(f"screenshot: {SCREENSHOT}")
