"""The preference center in headless Chromium: a toggle turned off with the keyboard
changes what a later event delivers (a real worker, a real SMTP server), quiet hours
and a time zone saved by the plain form with JavaScript off, and web push opt-in
through the real service worker against the project's local push server.

What is real and what is not in the push test: headless Chromium refuses a real
`pushManager.subscribe()` ("AbortError: Registration failed - permission denied", even
with the notifications permission granted: it has no push service to register with).
Only that call is replaced, by an init script: it returns a subscription whose
endpoint is the local push server (tests/http_receiver.py) and whose P-256 key pair
and auth secret are made in the page with WebCrypto. Everything else is real: the
page's script registers the subscription with POST /api/v1/push-subscriptions/
(session + CSRF), a real worker sends an RFC 8291 encrypted, VAPID-signed Web Push to
the local push server, the test decrypts it with the page's own private key (what the
browser's push service would do), and hands the plaintext to the service worker with
CDP `ServiceWorker.deliverPushMessage`, which fires the worker's real `push` handler;
the shown notification is read back with `registration.getNotifications()`."""

import base64
import json

import http_ece
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from apps.accounts.models import Profile, PushSubscription
from apps.common.channels import Channel
from apps.delivery.models import Delivery, DeliveryStatus
from apps.notifications.models import UserNotification
from apps.notifications.publish import event_publish
from apps.subscriptions.models import Preference, Subscription

from ..http_receiver import Answer, Receiver
from ..integration.providers import provider_worker
from ..sinks import SmtpSink
from ..web_push_browser import verify_vapid
from ..worker import ROOT, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = ROOT / ".pytest_cache" / "screenshots"
PAGE = "/inbox/preferences/"


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_page(browser, **context_options):
    context = browser.new_context(viewport={"width": 1000, "height": 900}, **context_options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def sign_in(page, base_url, username, then=PAGE):
    page.goto(f"{base_url}{then}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("secret-pass-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}{then}")


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def tab_to(page, element_id, limit=120):
    """Press Tab until the element has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_worker(smtp_sink, django_db_blocker):
    """A real worker on the fan-out and email queues, sending to the SMTP sink."""
    env = {"EMAIL_URL": smtp_sink.url, "EMAIL_PROVIDER": "smtp", "SENDGRID_API_KEY": ""}
    with django_db_blocker.unblock(), provider_worker("prefcenter-smtp", env) as worker:
        yield worker


def test_email_turned_off_with_the_keyboard_stops_email_of_later_events_and_keeps_the_inbox(
    chromium, live_server, smtp_worker, smtp_sink, make_user, subscribe, event_types
):
    created = event_types["scenario.created"]
    alice, carol = make_user("alice"), make_user("carol")  # carol keeps email on: the control
    for person in (alice, carol):
        subscribe(person, created, channel=Channel.IN_APP)
        subscribe(person, created, channel=Channel.EMAIL)

    event_publish(event_type=created, data={"name": "Before"})
    wait_until(lambda: smtp_sink.received("alice@example.com"), message="alice's first email")

    page = new_page(chromium)
    sign_in(page, live_server.url, "alice", then="/inbox/")
    page.get_by_role("link", name="Preferences").click()
    page.wait_for_url(f"{live_server.url}{PAGE}")
    toggle = page.locator("#sub-scenario-created-email")
    assert toggle.is_checked()

    # Keyboard only: Tab to the email toggle, Space turns it off, Tab to Save, Enter.
    page.locator("body").focus()
    tab_to(page, "sub-scenario-created-email")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus is visible
    page.keyboard.press("Space")
    assert not toggle.is_checked()
    tab_to(page, "save")
    page.keyboard.press("Enter")
    page.wait_for_selector("#preferences-form[data-saved='1']")
    assert page.locator("#save-status").inner_text() == "Preferences saved."
    assert Subscription.objects.get(user=alice, event_type=created, channel=Channel.EMAIL).enabled is False
    screenshot(page, "preference-center-email-off.png")

    later, _ = event_publish(event_type=created, data={"name": "After"})
    wait_until(lambda: len(smtp_sink.received("carol@example.com")) == 2, message="carol's second email")
    wait_until(lambda: UserNotification.objects.filter(user=alice, event=later).exists(), message="alice's inbox item")
    assert [m["Subject"] for m in smtp_sink.received("alice@example.com")] == ['Scenario "Before" created']
    assert not Delivery.objects.filter(notification__event=later, notification__user=alice).exists()
    carol_later = Delivery.objects.get(notification__event=later, notification__user=carol)
    assert carol_later.status == DeliveryStatus.SENT

    page.goto(f"{live_server.url}/inbox/")
    page.locator("#items li").filter(has_text='Scenario "After" created').wait_for()
    screenshot(page, "preference-center-inbox-still-gets-it.png")


def test_quiet_hours_and_time_zone_saved_by_the_plain_form_and_shown_back(chromium, live_server, make_user):
    alice = make_user("alice")
    page = new_page(chromium, java_script_enabled=False)
    sign_in(page, live_server.url, "alice")
    assert page.locator("#push-status").inner_text() == "Push notifications need JavaScript."

    # Half of a window: the error is shown next to the empty field, nothing is saved.
    page.get_by_label("Start", exact=True).fill("22:30")
    page.get_by_role("button", name="Save preferences").click()
    assert "This field is required." in page.locator("#error-quiet_end").inner_text()
    assert page.get_by_label("Start", exact=True).input_value() == "22:30"  # kept as typed
    assert page.get_by_label("End", exact=True).get_attribute("aria-invalid") == "true"
    assert not Preference.objects.filter(user=alice).exists()

    page.get_by_label("End", exact=True).fill("06:45")
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    page.get_by_label("Daily").check()
    page.get_by_role("button", name="Save preferences").click()
    page.wait_for_url(f"{live_server.url}{PAGE}")  # redirected after the POST
    assert page.locator("#save-status").inner_text() == "Preferences saved."

    page.goto(f"{live_server.url}{PAGE}")  # a fresh load shows what was saved
    assert page.get_by_label("Start", exact=True).input_value() == "22:30"
    assert page.get_by_label("End", exact=True).input_value() == "06:45"
    assert page.get_by_label("Time zone").input_value() == "Asia/Tokyo"
    assert page.get_by_label("Daily").is_checked()
    preference = Preference.objects.get(user=alice)
    assert (str(preference.quiet_start), str(preference.quiet_end), preference.digest) == (
        "22:30:00",
        "06:45:00",
        "daily",
    )
    assert Profile.objects.get(user=alice).timezone == "Asia/Tokyo"
    screenshot(page, "preference-center-quiet-hours.png")


def test_with_javascript_errors_and_saves_are_announced_without_a_reload(chromium, live_server, make_user):
    alice = make_user("alice")
    page = new_page(chromium)
    sign_in(page, live_server.url, "alice")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    page.get_by_label("End", exact=True).fill("07:00")
    page.get_by_role("button", name="Save preferences").click()
    page.locator("#error-quiet_start").get_by_text("This field is required.").wait_for()
    start = page.get_by_label("Start", exact=True)
    assert start.get_attribute("aria-invalid") == "true"
    assert "error-quiet_start" in start.get_attribute("aria-describedby")
    assert "could not be saved" in page.locator("#save-status").inner_text()
    assert not Preference.objects.filter(user=alice).exists()

    start.fill("23:00")
    page.get_by_role("button", name="Save preferences").click()
    page.wait_for_selector("#preferences-form[data-saved='1']")
    assert page.locator("#save-status").inner_text() == "Preferences saved."
    assert start.get_attribute("aria-invalid") == "false"
    assert page.locator("#error-quiet_start").inner_text() == ""
    assert page.evaluate("window.sameDocument") is True
    assert str(Preference.objects.get(user=alice).quiet_start) == "23:00:00"


# Replaces PushManager.prototype.subscribe only (see the module's docstring).
SUBSCRIBE_STUB = """
(() => {
  const endpoint = %(endpoint)s;
  const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  PushManager.prototype.subscribe = async function (options) {
    const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
    const publicKey = b64url(await crypto.subtle.exportKey("raw", pair.publicKey));
    const auth = b64url(crypto.getRandomValues(new Uint8Array(16)));
    window.__pushStub = {
      privateJwk: await crypto.subtle.exportKey("jwk", pair.privateKey),
      auth: auth,
      applicationServerKey: b64url(options.applicationServerKey),
      userVisibleOnly: options.userVisibleOnly,
    };
    const json = { endpoint: endpoint, expirationTime: null, keys: { p256dh: publicKey, auth: auth } };
    return { endpoint: endpoint, expirationTime: null, toJSON: () => json };
  };
})();
"""

NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.getRegistration("/inbox/");
  const shown = await registration.getNotifications();
  return shown.map((n) => ({ title: n.title, body: n.body, url: n.data && n.data.url, tag: n.tag }));
}"""


def deliver_to_service_worker(cdp, registrations, origin, payload: bytes):
    # Each update of the registration repeats it: one id for the inbox's scope.
    [registration_id] = {r["registrationId"] for r in registrations if r["scopeURL"] == f"{origin}/inbox/"}
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": registration_id, "data": payload.decode()},
    )


def test_push_opt_in_registers_the_browser_and_the_service_worker_shows_the_push(
    chromium, live_server, celery_worker, settings, make_user, event_types
):
    alice = make_user("alice")
    with Receiver(default=Answer(201, body=b"")) as push_service:
        endpoint = push_service.url("/push/alice-laptop")
        context = chromium.new_context(viewport={"width": 1000, "height": 900})
        context.grant_permissions(["notifications"], origin=live_server.url)
        context.add_init_script(SUBSCRIBE_STUB % {"endpoint": json.dumps(endpoint)})
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, live_server.url, "alice")

        cdp = context.new_cdp_session(page)
        registrations = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
        cdp.send("ServiceWorker.enable")

        page.get_by_role("button", name="Turn on push notifications").click()
        page.get_by_text("Push notifications are on in this browser.").wait_for()
        stub = page.evaluate("window.__pushStub")
        assert stub["applicationServerKey"] == settings.VAPID_PUBLIC_KEY and stub["userVisibleOnly"] is True
        [registered] = PushSubscription.objects.filter(user=alice)
        assert registered.endpoint == endpoint and registered.auth == stub["auth"]
        scope = page.evaluate("navigator.serviceWorker.getRegistration('/inbox/').then(r => r && r.scope)")
        assert scope == f"{live_server.url}/inbox/"

        # Push on for scenario.created, through the page too.
        page.locator("#sub-scenario-created-push").check()
        page.get_by_role("button", name="Save preferences").click()
        page.wait_for_selector("#preferences-form[data-saved='1']")
        assert Subscription.objects.get(user=alice, channel=Channel.PUSH).event_type.key == "scenario.created"

        event, _ = event_publish(event_type=event_types["scenario.created"], data={"name": "Checkout"})
        [request] = wait_until(lambda: push_service.requests, message="the push at the local push service")
        wait_until(
            lambda: Delivery.objects.filter(notification__event=event, status=DeliveryStatus.SENT).exists(),
            message="the push delivery sent",
        )

    # The push service's part: the body is encrypted to the page's own key pair.
    assert request.path == "/push/alice-laptop" and request.headers["content-encoding"] == "aes128gcm"
    verify_vapid(request.headers["authorization"], audience=f"http://localhost:{push_service.port}")
    assert b"Checkout" not in request.body
    private_key = ec.derive_private_key(int.from_bytes(unb64url(stub["privateJwk"]["d"]), "big"), ec.SECP256R1())
    plaintext = http_ece.decrypt(
        request.body, private_key=private_key, auth_secret=unb64url(stub["auth"]), version="aes128gcm"
    )
    message = json.loads(plaintext)
    assert message["title"] == 'Scenario "Checkout" created'

    deliver_to_service_worker(cdp, registrations, live_server.url, plaintext)
    [shown] = wait_until(lambda: page.evaluate(NOTIFICATIONS), message="the notification to be shown")
    assert shown["title"] == message["title"] and shown["body"] == message["body"]
    assert shown["tag"] == (message.get("tag") or f"notification-{message['notification_id']}")
    expected_url = message["url"] or "/inbox/"
    assert shown["url"] == (expected_url if "://" in expected_url else f"{live_server.url}{expected_url}")
    screenshot(page, "preference-center-push-on.png")

    # A push whose url breaks the link rule opens the inbox instead.
    hostile = ["javascript:alert(document.cookie)", "//evil.example/x", "/\\evil.example", " javascript:alert(1)"]
    for number, url in enumerate(hostile, start=1):
        payload = {"title": f"Hostile {number}", "body": "", "url": url, "tag": f"hostile-{number}"}
        deliver_to_service_worker(cdp, registrations, live_server.url, json.dumps(payload).encode())
    wait_until(lambda: len(page.evaluate(NOTIFICATIONS)) == 1 + len(hostile), message="the hostile notifications")
    opened = {n["title"]: n["url"] for n in page.evaluate(NOTIFICATIONS) if n["title"].startswith("Hostile")}
    assert opened == {f"Hostile {n}": f"{live_server.url}/inbox/" for n in range(1, len(hostile) + 1)}
    context.close()
