"""The inbox page's load more, item actions, snooze and grouped lines in headless
Chromium against a live server (launch and skip rule in tests/e2e/conftest.py).
Each test saves a screenshot under .pytest_cache/screenshots/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.events.models import Event
from apps.notifications.models import UserNotification

from ..worker import ROOT, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ROOT / ".pytest_cache" / "screenshots"


@pytest.fixture
def item_for(event_types):
    def item_for(user, title, *, subject="", data=None, **fields):
        event = Event.objects.create(
            event_type=event_types["scenario.executed"],
            subject_type="scenarios.scenario" if subject else "",
            subject_id=subject,
            data=data or {},
        )
        return UserNotification.objects.create(event=event, user=user, title=title, created_at=timezone.now(), **fields)

    return item_for


@pytest.fixture
def signed_in_page(browser_page, live_server, settings, make_user):
    settings.INBOX_STREAM_KEEPALIVE_SECONDS = 1
    alice = make_user("alice")

    def open_inbox():
        page = browser_page
        page.goto(f"{live_server.url}/inbox/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("secret-pass-1")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/inbox/")
        page.evaluate("window.sameDocument = true")  # gone if the page reloads
        return page

    return alice, open_inbox


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"inbox-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def test_load_more_appends_the_next_page_from_the_api(signed_in_page, item_for, monkeypatch):
    from apps.inbox import views

    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    alice, open_inbox = signed_in_page
    oldest = item_for(
        alice,
        "Oldest, with actions",
        data={
            "actions": [
                {"label": "Open run", "url": "https://ci.example.com/runs/1"},
                {"label": "Steal", "url": "javascript:alert(document.cookie)"},
            ]
        },
    )
    for n in range(4):
        item_for(alice, f"Item {n}")
    page = open_inbox()
    rows = page.locator("#items > li")
    assert rows.count() == 3
    more = page.get_by_role("link", name="Load more")
    assert "cursor=" in more.get_attribute("href")  # the page without script

    with page.expect_response(lambda response: "/api/v1/inbox/?group=subject" in response.url) as answer:
        more.click()
    assert answer.value.status == 200
    wait_until(lambda: rows.count() == 5, timeout=10, message="the next page to be appended")
    assert page.evaluate("window.sameDocument") is True
    assert rows.nth(4).get_attribute("data-id") == str(oldest.pk)
    # Focus moves to the first appended line, so the keyboard goes on from there.
    assert page.evaluate("document.activeElement.dataset.id") == rows.nth(3).get_attribute("data-id")
    assert not more.is_visible()  # no page after this one
    # The appended item is built by the script: its safe action is a link, the other is not there.
    action = rows.nth(4).get_by_role("link", name="Open run")
    assert action.get_attribute("href") == "https://ci.example.com/runs/1"
    assert page.locator('a[href^="javascript"]').count() == 0
    assert "Steal" not in page.locator("#items").inner_text()
    # Its controls work like the others: mark it read in place.
    rows.nth(4).get_by_role("button", name="Mark read").click()
    rows.nth(4).get_by_role("button", name="Mark unread").wait_for()
    assert UserNotification.objects.get(pk=oldest.pk).read_at is not None
    screenshot(page, "load-more")


def test_actions_are_buttons_and_a_javascript_link_is_not_rendered(signed_in_page, item_for):
    alice, open_inbox = signed_in_page
    item_for(
        alice,
        "Deploy finished",
        data={
            "actions": [
                {"label": "View deploy", "url": "https://ci.example.com/deploys/7"},
                {"label": "Roll back", "url": "/deploys/7/rollback/"},
            ]
        },
    )
    item_for(
        alice,
        "Suspicious",
        data={"actions": [{"label": "Claim prize", "url": " JaVaScRiPt:alert(1)"}, {"label": "Details", "url": "/d/"}]},
    )
    page = open_inbox()
    deploy = page.locator("#items li").filter(has_text="Deploy finished")
    primary = deploy.get_by_role("link", name="View deploy")
    assert primary.is_visible() and primary.get_attribute("href") == "https://ci.example.com/deploys/7"
    assert "action-primary" in primary.get_attribute("class")
    secondary = deploy.get_by_role("link", name="Roll back")
    assert secondary.get_attribute("href") == "/deploys/7/rollback/"
    assert "action-secondary" in secondary.get_attribute("class")

    suspicious = page.locator("#items li").filter(has_text="Suspicious")
    assert suspicious.get_by_role("link", name="Details").get_attribute("href") == "/d/"
    assert "Claim prize" not in suspicious.inner_text()
    assert page.locator('a[href*="script:" i]').count() == 0
    screenshot(page, "actions")


def test_snooze_hides_the_item_and_it_comes_back_unread(signed_in_page, item_for):
    alice, open_inbox = signed_in_page
    item = item_for(alice, "Review the release notes", read_at=timezone.now())
    item_for(alice, "Stays")
    page = open_inbox()
    badge = page.locator("#unread-count")
    assert badge.inner_text() == "1"
    row = page.locator("#items li").filter(has_text="Review the release notes")
    row.get_by_label("Snooze Review the release notes until").select_option(label="1 hour")
    row.get_by_role("button", name="Snooze").click()
    row.wait_for(state="detached")
    assert page.evaluate("window.sameDocument") is True
    assert "snoozed until" in page.locator("#live-announcer").inner_text()
    item.refresh_from_db()
    assert timedelta(minutes=59) < item.snoozed_until - timezone.now() <= timedelta(hours=1)
    assert item.read_at is None  # it will come back unread
    page.reload()
    assert page.locator("#items li").filter(has_text="Review the release notes").count() == 0
    assert badge.inner_text() == "1"

    # The hour passes (the column moved back): the item is in the list again, unread.
    UserNotification.objects.filter(pk=item.pk).update(snoozed_until=timezone.now() - timedelta(seconds=1))
    page.reload()
    back = page.locator("#items li").filter(has_text="Review the release notes")
    back.wait_for()
    assert "unread" in back.get_attribute("class")
    assert badge.inner_text() == "2"
    screenshot(page, "snooze")


def test_a_group_of_three_is_one_line_that_expands(signed_in_page, item_for):
    alice, open_inbox = signed_in_page
    for n in range(3):
        item_for(alice, f"Run {n + 1} of Checkout flow", subject="7", data={"subject_title": "Checkout flow"})
    item_for(alice, "Something else")
    page = open_inbox()
    lines = page.locator("#items > li")
    assert lines.count() == 2
    group = page.locator("#items > li.group")
    summary = group.locator("summary")
    assert summary.inner_text().startswith("3 × Test scenario executed: Checkout flow")
    assert "3 unread" in summary.inner_text()
    inner = group.locator("li.item")
    assert inner.count() == 3 and not inner.first.is_visible()

    summary.click()
    inner.first.wait_for(state="visible")
    assert group.locator("details").get_attribute("open") is not None
    assert [inner.nth(n).locator(".title").inner_text() for n in range(3)] == [
        "Run 3 of Checkout flow",
        "Run 2 of Checkout flow",
        "Run 1 of Checkout flow",
    ]
    inner.first.get_by_role("button", name="Mark read").click()
    wait_until(lambda: "2 unread" in summary.inner_text(), timeout=10, message="the line's count to drop")
    screenshot(page, "group")
