"""Content cannot attack its reader or the worker: each attack made through HTTP
against a live server, with a real Celery worker and a real SMTP server behind it.

- links other than https:, http: or relative are refused (400, nothing written) on
  every path that publishes or sends;
- an operator template cannot change the data it renders, and a runaway one falls back
  within its budget without holding the worker;
- oversized or too deeply nested data is refused;
- markup in data reaches the email's HTML and the inbox page escaped.
"""

import re
import time
import uuid

import pytest
import requests
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.common.services import api_key_create
from apps.delivery.models import Delivery, DeliveryEvent, DeliveryStatus
from apps.events.models import Event
from apps.notifications.models import DirectSend, UserNotification
from apps.notifications.publish import event_publish
from apps.templating.models import NotificationTemplate

from ..integration.providers import FINAL, provider_worker, smtp_env, wait_for_status
from ..worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BAD_LINKS = [
    "javascript:alert(1)",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "JAVASCRIPT:alert(document.cookie)",
    "\x01javascript:alert(1)",
    "javascript&#58;alert(1)",
    "javascript&colon;alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "//evil.com",
    "\\\\evil.com",
    "/\\evil.com",
    "https:evil.com",
    "\u200bjavascript:alert(1)",
    42,
]
XSS = "<script>alert(1)</script>"
# No whitespace in it, so the link rule lets it through: escaping must keep it in its attribute.
ATTRIBUTE_BREAK = 'https://example.com/"><svg/onload=alert(2)>'


@pytest.fixture(scope="module")
def smtp_worker(smtp_sink, django_db_setup, django_db_blocker):
    env = {
        **smtp_env(smtp_sink),
        "PUBLIC_BASE_URL": "https://notify.example.com",
        "TEMPLATE_RENDER_MAX_SECONDS": "0.5",
    }
    with django_db_blocker.unblock(), provider_worker("content", env) as worker:
        yield worker


@pytest.fixture
def service(live_server):
    _, key = api_key_create(name="content attacks")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"

    def call(method, path, **kwargs):
        return session.request(method, live_server.url + path, timeout=30, **kwargs)

    return call


@pytest.fixture
def event_type(service):
    """An event type of the test's own: the worker's stored-template check is cached per type."""
    key = f"content.{uuid.uuid4().hex[:10]}"
    response = service("POST", "/api/v1/event-types/", json={"key": key, "name": "Order shipped"})
    assert response.status_code == 201, response.text
    return key


def written() -> tuple[int, int, int, int]:
    return Event.objects.count(), DirectSend.objects.count(), UserNotification.objects.count(), Delivery.objects.count()


def assert_refused(response, *path):
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    details = error["details"]
    for key in path:
        details = details[key]
    assert details, error


# --- links ---------------------------------------------------------------------------


def test_bad_links_are_refused_by_the_events_api_and_nothing_is_written(service, event_type):
    before = written()
    for link in BAD_LINKS:
        response = service("POST", "/api/v1/events/", json={"event_type": event_type, "data": {"url": link}})
        assert_refused(response, "data", "url")
    assert written() == before


def test_bad_links_are_refused_by_direct_sends_single_bulk_and_by_template(service, event_type, make_user):
    person = make_user("rita")
    template = service(
        "POST",
        "/api/v1/templates/",
        json={"event_type": event_type, "channel": "email", "locale": "en", "subject": "S", "body": "{{ data.url }}"},
    )
    assert template.status_code == 201, template.text
    before = written()
    for link in BAD_LINKS:
        one = {"event_type": event_type, "recipients": [person.pk], "data": {"url": link}}
        assert_refused(service("POST", "/api/v1/notifications/", json=one), "data", "url")
        by_template = {"template": template.json()["id"], "recipients": [person.pk], "data": {"url": link}}
        assert_refused(service("POST", "/api/v1/notifications/", json=by_template), "data", "url")
        fine = {"event_type": event_type, "recipients": [person.pk], "data": {"url": "https://example.com/"}}
        bulk = service("POST", "/api/v1/notifications/bulk/", json={"notifications": [fine, one]})
        # The bad item is named by its index; the good one is not sent either.
        assert_refused(bulk, "notifications", "1", "data", "url")
    assert written() == before


def test_good_links_are_accepted(service, event_type):
    before = Event.objects.count()
    for link in ["https://shop.example.com/orders/42?tab=1&x=2", "http://example.com/", "/orders/42", "orders/42"]:
        response = service("POST", "/api/v1/events/", json={"event_type": event_type, "data": {"url": link}})
        assert response.status_code == 202, response.text
    assert Event.objects.count() == before + 4


def test_event_publish_from_python_refuses_bad_links(event_types):
    for link in BAD_LINKS:
        with pytest.raises(ValidationError) as refused:
            event_publish(event_type=event_types["scenario.created"], data={"url": link})
        assert refused.value.message_dict["data"][0].startswith("url: ")
    assert Event.objects.count() == 0


# --- data bounds ---------------------------------------------------------------------


def nested(depth: int) -> dict:
    data: dict = {}
    for _ in range(depth - 1):
        data = {"a": data}
    return data


def test_oversized_and_too_deep_data_is_refused_on_every_path(service, event_type, make_user, settings):
    person = make_user("sam")
    huge = {"blob": "x" * (settings.EVENT_DATA_MAX_BYTES + 1)}  # under the request limit, over the data's
    deep = nested(settings.EVENT_DATA_MAX_DEPTH + 1)
    before = written()
    for data in (huge, deep):
        assert_refused(service("POST", "/api/v1/events/", json={"event_type": event_type, "data": data}), "data")
        send = {"event_type": event_type, "recipients": [person.pk], "data": data}
        assert_refused(service("POST", "/api/v1/notifications/", json=send), "data")
        bulk = service("POST", "/api/v1/notifications/bulk/", json={"notifications": [send]})
        assert_refused(bulk, "notifications", "0", "data")
    assert written() == before
    # At the limit it is accepted.
    ok = service(
        "POST", "/api/v1/events/", json={"event_type": event_type, "data": nested(settings.EVENT_DATA_MAX_DEPTH)}
    )
    assert ok.status_code == 202, ok.text


# --- operator templates ------------------------------------------------------------


def send_email(service, event_type, person, data) -> Delivery:
    response = service(
        "POST",
        "/api/v1/notifications/",
        json={"event_type": event_type, "recipients": [person.pk], "channels": ["email"], "data": data},
    )
    assert response.status_code == 202, response.text
    send = DirectSend.objects.get(pk=response.json()["id"])
    delivery_id = wait_until(
        lambda: Delivery.objects.filter(notification__event_id=send.event_id).values_list("pk", flat=True).first(),
        message="the delivery",
    )
    return wait_for_status(delivery_id, FINAL)


def store_template(service, event_type, **sources):
    response = service(
        "POST", "/api/v1/templates/", json={"event_type": event_type, "channel": "email", "locale": "en", **sources}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_template_cannot_change_the_data_it_renders(smtp_worker, smtp_sink, service, event_type, make_user):
    store_template(
        service,
        event_type,
        subject="Shipped {{ data.clear }}{{ data['lines'].clear }}{{ data.name }}",
        body="Order {{ data.name }} ({{ data['lines']|length }} lines){{ data.pop }}{{ data.update }}",
        html="<p>{{ data.title }}</p>",
    )
    tom = make_user("tom")
    data = {"name": "A-42", "lines": [1, 2, 3], "title": XSS}
    delivery = send_email(service, event_type, tom, data)
    assert delivery.status == DeliveryStatus.SENT
    [message] = wait_until(lambda: smtp_sink.received("tom@example.com"), message="the email")
    assert message["Subject"] == "Shipped A-42"
    assert message.get_body(preferencelist=("plain",)).get_content().startswith("Order A-42 (3 lines)")
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" in html and XSS not in html
    assert Event.objects.get(pk=delivery.notification.event_id).data == data


def test_a_template_that_calls_a_mutating_method_falls_back_with_the_data_intact(
    smtp_worker, smtp_sink, service, event_type, make_user
):
    store_template(service, event_type, subject="{{ data.clear() }}gone", body="{{ data.pop('name') }}")
    uma = make_user("uma")
    data = {"name": "B-7", "title": "Your order"}
    delivery = send_email(service, event_type, uma, data)
    assert delivery.status == DeliveryStatus.SENT
    [message] = wait_until(lambda: smtp_sink.received("uma@example.com"), message="the email")
    assert "gone" not in message["Subject"] and "Your order" in message["Subject"]  # the default template
    reason = DeliveryEvent.objects.get(delivery=delivery, status="template_fallback").detail["reason"]
    assert "SecurityError" in reason
    assert Event.objects.get(pk=delivery.notification.event_id).data == data


RUNAWAYS = {
    "time": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "longer than 0.5 s"),
    "value": ("{{ 'x' * 10**9 }}", "would be longer than"),
    "output": ("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", "output longer than"),
    "range": ("{% for i in range(10**9) %}x{% endfor %}", "OverflowError"),
}


@pytest.mark.parametrize("kind", RUNAWAYS)
def test_a_runaway_template_falls_back_within_its_budget_and_the_worker_goes_on(
    smtp_worker, smtp_sink, service, make_user, kind
):
    key = f"runaway.{kind}.{uuid.uuid4().hex[:6]}"
    assert service("POST", "/api/v1/event-types/", json={"key": key, "name": "Runaway"}).status_code == 201
    source, reason = RUNAWAYS[kind]
    store_template(service, key, subject="never", body=source)
    person = make_user(f"run-{kind}")
    started = time.monotonic()
    delivery = send_email(service, key, person, {"title": "T"})
    assert delivery.status == DeliveryStatus.SENT
    assert time.monotonic() - started < 20
    [message] = wait_until(lambda: smtp_sink.received(person.email), message="the email")
    assert message["Subject"] != "never"
    recorded = DeliveryEvent.objects.get(delivery=delivery, status="template_fallback").detail["reason"]
    assert reason in recorded
    # The worker is free: an ordinary email right after goes through.
    after = make_user(f"after-{kind}")
    assert send_email(service, key, after, {"title": "T"}).status == DeliveryStatus.SENT


def test_templates_that_do_not_compile_are_refused_with_the_error(service, event_type):
    response = service(
        "POST",
        "/api/v1/templates/",
        json={"event_type": event_type, "channel": "email", "locale": "en", "subject": "ok", "body": "a\n{% for x %}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["body"][0].startswith("Line 2: ")
    response = service(
        "POST",
        "/api/v1/templates/",
        json={"event_type": event_type, "channel": "email", "locale": "en", "subject": "{{ x|nosuch }}", "body": "b"},
    )
    assert "nosuch" in response.json()["error"]["details"]["subject"][0]
    for deep in ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "{% for x in y %}" * 200 + "{% endfor %}" * 200):
        response = service(
            "POST",
            "/api/v1/templates/",
            json={"event_type": event_type, "channel": "email", "locale": "en", "subject": "s", "body": deep},
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["details"]["body"] == ["Nested too deeply to compile."]
    assert not NotificationTemplate.objects.filter(event_type__key=event_type).exists()


# --- escaping ------------------------------------------------------------------------


def signed_in(live_server, username: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{live_server.url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = browser.post(
        f"{live_server.url}/accounts/login/",
        data={"username": username, "password": "secret-pass-1", "csrfmiddlewaretoken": token, "next": "/inbox/"},
        headers={"Referer": f"{live_server.url}/accounts/login/"},
        timeout=10,
    )
    assert response.url.endswith("/inbox/"), response.text[:500]
    return browser


def test_markup_in_data_is_escaped_in_the_email_and_on_the_inbox_page(
    smtp_worker, smtp_sink, service, live_server, event_type, make_user
):
    vic = make_user("vic")
    data = {"title": XSS, "message": '<img src=x onerror="alert(3)">', "url": ATTRIBUTE_BREAK}
    response = service(
        "POST",
        "/api/v1/notifications/",
        json={"event_type": event_type, "recipients": [vic.pk], "channels": ["in_app", "email"], "data": data},
    )
    assert response.status_code == 202, response.text
    [message] = wait_until(lambda: smtp_sink.received("vic@example.com"), timeout=30, message="the email")
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<script" not in html and "<img" not in html and "<svg" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The link stays inside its attribute.
    assert 'href="https://example.com/&quot;&gt;&lt;svg/onload=alert(2)&gt;"' in html

    page = signed_in(live_server, "vic").get(f"{live_server.url}/inbox/", timeout=10).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert XSS not in page and "<img src=x" not in page and "<svg/onload" not in page
    assert 'href="https://example.com/&quot;&gt;&lt;svg/onload=alert(2)&gt;"' in page


def test_a_bad_link_already_in_the_database_is_never_shown(live_server, event_types, make_user):
    wes = make_user("wes")
    event = Event.objects.create(event_type=event_types["scenario.created"], data={"url": "javascript:alert(1)"})
    UserNotification.objects.create(
        event=event, user=wes, title="Old item", url="javascript:alert(1)", created_at=timezone.now()
    )
    browser = signed_in(live_server, "wes")
    page = browser.get(f"{live_server.url}/inbox/", timeout=10).text
    assert "Old item" in page and "javascript:" not in page
    items = browser.get(f"{live_server.url}/api/v1/inbox/", timeout=10).json()["results"]
    assert [(item["title"], item["url"]) for item in items] == [("Old item", "")]
