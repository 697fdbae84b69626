"""End to end in headless Chromium: the mail catcher runs as the Procfile starts it, a
real worker sends a real email through the service (alice creates a scenario through
the API, bob is subscribed by email), and a staff member signs in to the admin and
reads it at /dev/mailbox/, the HTML part in its sandboxed frame, with nothing fetched
from outside the machine."""

import pytest
from rest_framework.authtoken.models import Token

from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus

from ..integration.providers import FINAL, provider_worker, wait_for_status
from ..mailcatcher.process import CatcherProcess
from ..scenarios_http import scenario_post
from ..worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def catcher(tmp_path):
    process = CatcherProcess(tmp_path / "mail").start()
    yield process
    process.stop()


@pytest.fixture
def mail_worker(catcher, django_db_blocker):
    env = {"EMAIL_URL": catcher.email_url, "EMAIL_PROVIDER": "smtp", "SENDGRID_API_KEY": ""}
    with django_db_blocker.unblock(), provider_worker("mailbox", env) as worker:
        yield worker


def test_staff_read_the_email_the_service_sent(
    offline_page,
    live_server,
    catcher,
    mail_worker,
    settings,
    make_user,
    subscribe,
    event_types,
):
    settings.DEBUG = True  # the mailbox exists in development only
    settings.MAIL_CATCHER_DIR = catcher.directory
    alice, bob, root = make_user("alice"), make_user("bob"), make_user("root")
    root.is_staff = True
    root.save(update_fields=["is_staff"])
    subscribe(bob, event_types["scenario.created"], channel=Channel.EMAIL)

    scenario_post(live_server.url, Token.objects.create(user=alice).key, "Checkout flow")
    delivery = wait_until(lambda: Delivery.objects.filter(notification__user=bob).first(), message="bob's delivery")
    assert wait_for_status(delivery.pk, FINAL).status == DeliveryStatus.SENT
    wait_until(lambda: list(catcher.directory.glob("*.eml")), message="the caught email")

    page = offline_page.page
    page.goto(f"{live_server.url}/dev/mailbox/")
    assert page.url.startswith(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("secret-pass-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/dev/mailbox/")

    message = page.get_by_role("article").filter(has_text='Scenario "Checkout flow" created')
    message.wait_for()
    assert "bob@example.com" in message.inner_text()
    assert 'Scenario "Checkout flow" created' in message.locator("pre").inner_text()
    frame = message.locator("iframe")
    assert frame.get_attribute("sandbox") == ""
    html_heading = message.frame_locator("iframe").locator("h1")
    assert "Checkout flow" in html_heading.inner_text()

    offline_page.screenshot("mailbox")
    assert offline_page.blocked == []
