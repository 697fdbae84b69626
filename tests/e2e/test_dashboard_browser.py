"""The delivery dashboard in headless Chromium: an operator signs in to the admin,
opens the dashboard from the admin index, sees the server-drawn chart and the counts,
and requeues a dead letter, which a real worker then sends. Every request that does
not go to the live server is refused, so nothing on the page may come from elsewhere."""

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from apps.dashboard.groups import staff_groups_ensure
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.events.models import Event
from apps.notifications.models import UserNotification

from ..worker import ROOT, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCREENSHOT = ROOT / ".pytest_cache" / "screenshots" / "dashboard.png"
STORY_SCREENSHOT = ROOT / ".pytest_cache" / "screenshots" / "dashboard-story.png"


def delivery_for(user, event, status, **fields):
    now = timezone.now()
    item = UserNotification.objects.create(
        event=event, user=user, title="Checkout created", body="Ready for review", created_at=now
    )
    return Delivery.objects.create(
        notification=item, channel="log", status=status, created_at=now, updated_at=now, **fields
    )


def test_operator_sees_the_chart_and_counts_and_requeues_a_dead_letter(
    browser_page,
    live_server,
    celery_worker,
    django_user_model,
    make_user,
    event_types,
):
    page = browser_page
    # A transactional test's flush removed the migration's groups: make them again.
    staff_groups_ensure(group_model=Group, permission_model=Permission)
    operator = django_user_model.objects.create_user("opal", "opal@example.com", "secret-pass-1", is_staff=True)
    operator.groups.add(Group.objects.get(name="operator"))
    event = Event.objects.create(event_type=event_types["scenario.created"], data={"name": "Checkout"})
    now = timezone.now()
    for minutes_ago in (1, 2, 2):
        delivery_for(make_user(), event, DeliveryStatus.SENT, sent_at=now - timedelta(minutes=minutes_ago))
    dead = delivery_for(make_user("dora"), event, DeliveryStatus.DEAD, attempts=5, last_error="timed out")

    live = urlparse(live_server.url).netloc
    refused = []

    def only_the_live_server(route):
        if urlparse(route.request.url).netloc == live:
            return route.continue_()
        refused.append(route.request.url)
        return route.abort()

    page.route("**/*", only_the_live_server)
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("opal")
    page.get_by_label("Password").fill("secret-pass-1")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Delivery dashboard").first.click()
    page.wait_for_url("**/admin/dashboard/deliverydashboard/")

    chart = page.locator("svg#minute-chart")
    assert chart.is_visible()
    assert chart.locator("polyline[data-series='sent']").count() == 1
    assert page.get_by_text("sent (3)").is_visible()
    log_row = page.locator("#status-counts tr[data-channel='log']")
    assert log_row.locator("td[data-status='sent']").inner_text() == "3 / 3"
    assert log_row.locator("td[data-status='dead']").inner_text() == "1 / 1"

    page.get_by_role("button", name=f"Requeue delivery {dead.pk}").click()
    page.get_by_text(f"Delivery #{dead.pk} requeued.").wait_for()
    # Back to pending and enqueued: the session worker takes it from the log queue and sends it.
    wait_until(
        lambda: Delivery.objects.get(pk=dead.pk).status == DeliveryStatus.SENT,
        timeout=20,
        message="the requeued delivery to be sent by the worker",
    )
    assert list(DeliveryEvent.objects.filter(delivery=dead).values_list("status", flat=True))[0] == "pending"
    page.reload()
    assert page.locator(f"#dead-letters tr[data-delivery='{dead.pk}']").count() == 0
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    print(f"screenshot: {SCREENSHOT}")

    # The requeued delivery's story: reached from its change page, its whole timeline.
    page.goto(f"{live_server.url}/admin/delivery/delivery/{dead.pk}/change/")
    page.get_by_role("link", name="The whole story of this notification").click()
    article = page.locator(f"article[data-delivery='{dead.pk}']")
    rows = article.locator("table.timeline tbody tr")
    rows.last.wait_for()
    statuses = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())]
    assert statuses[0] == "pending" and statuses[-1] == "sent", statuses
    assert "requeued_by" in article.inner_text()
    assert article.locator("pre.content-text").inner_text() == "Ready for review"
    page.screenshot(path=str(STORY_SCREENSHOT), full_page=True)
    assert refused == []
