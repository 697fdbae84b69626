"""The inbox page's actions and snooze, attacked over HTTP against a live server with a
signed-in browser session (requests): hostile action links in event data are never a
link on the page nor in the API, and nobody snoozes another person's item, by the
page's form or by the API, nor without the CSRF token."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.utils import timezone

from apps.common.services import api_key_create
from apps.events.models import Event
from apps.notifications.models import UserNotification

from .signing_in import form_token

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE_URLS = [
    "javascript:alert(document.cookie)",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "javascript&#58;alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/phish",
    "\\\\evil.example/phish",
    "/\\evil.example/phish",
    "https://",
]


def signed_in(live_server, user) -> requests.Session:
    browser = requests.Session()
    login = live_server.url + "/accounts/login/"
    token = form_token(browser.get(login, timeout=10).text)
    response = browser.post(
        login,
        data={"username": user.username, "password": "secret-pass-1", "csrfmiddlewaretoken": token, "next": "/inbox/"},
        headers={"Referer": login},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    return browser


def item_for(event_types, user, title, data=None):
    event = Event.objects.create(event_type=event_types["scenario.created"], data=data or {})
    return UserNotification.objects.create(event=event, user=user, title=title, created_at=timezone.now())


def snooze_state():
    return list(UserNotification.objects.order_by("pk").values_list("pk", "snoozed_until", "read_at"))


def test_hostile_action_links_are_never_links(live_server, event_types, make_user):
    alice = make_user("alice")
    for n, url in enumerate(HOSTILE_URLS):
        item_for(
            event_types,
            alice,
            f"Attack {n}",
            data={"actions": [{"label": f"Bait{n}", "url": url}, {"label": f"Fine{n}", "url": f"/ok/{n}/"}]},
        )
    browser = signed_in(live_server, alice)
    page = browser.get(live_server.url + "/inbox/", timeout=10).text
    actions = re.findall(r'<a class="action action-(\w+)" href="([^"]*)">([^<]*)</a>', page)
    assert sorted(actions) == sorted(("secondary", f"/ok/{n}/", f"Fine{n}") for n in range(len(HOSTILE_URLS)))
    assert "Bait" not in page
    assert not re.search(r'href="\s*(javascript|data|vbscript)', page, re.IGNORECASE)

    api = browser.get(live_server.url + "/api/v1/inbox/", timeout=10).json()["results"]
    assert [[action["kind"] for action in item["actions"]] for item in api] == [["secondary"]] * len(HOSTILE_URLS)
    assert {item["actions"][0]["url"] for item in api} == {f"/ok/{n}/" for n in range(len(HOSTILE_URLS))}


def test_nobody_snoozes_another_persons_item(live_server, event_types, make_user):
    alice, mallory = make_user("alice"), make_user("mallory")
    target = item_for(event_types, alice, "Alice's")
    item_for(event_types, mallory, "Mallory's own")
    before = snooze_state()
    browser = signed_in(live_server, mallory)
    csrf = form_token(browser.get(live_server.url + "/inbox/", timeout=10).text)
    url = f"{live_server.url}/inbox/{target.pk}/snooze/"

    # The page's form, with a valid token of Mallory's own session.
    response = browser.post(
        url,
        data={"choice": "tomorrow", "csrfmiddlewaretoken": csrf},
        headers={"Referer": live_server.url + "/inbox/"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 404
    # The API, as Mallory's session.
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    response = browser.post(
        f"{live_server.url}/api/v1/inbox/{target.pk}/snooze/",
        json={"until": until},
        headers={"X-CSRFToken": browser.cookies["csrftoken"], "Referer": live_server.url + "/inbox/"},
        timeout=10,
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert snooze_state() == before


def test_a_snooze_without_the_csrf_token_is_refused(live_server, event_types, make_user):
    alice = make_user("alice")
    item = item_for(event_types, alice, "Alice's")
    browser = signed_in(live_server, alice)
    before = snooze_state()
    # A cross-site form post rides on Alice's session cookie but has no token.
    response = requests.post(
        f"{live_server.url}/inbox/{item.pk}/snooze/",
        data={"choice": "next-week"},
        cookies={"sessionid": browser.cookies["sessionid"]},
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 403
    response = requests.post(
        f"{live_server.url}/api/v1/inbox/{item.pk}/snooze/",
        json={"until": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
        cookies={"sessionid": browser.cookies["sessionid"]},
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/"},
        timeout=10,
    )
    assert response.status_code == 403
    assert snooze_state() == before


def test_publishing_a_hostile_action_link_is_refused_and_writes_nothing(live_server, event_types):
    _, key = api_key_create(name="inbox actions", scopes=["events:write"])
    service = requests.Session()
    service.headers["Authorization"] = f"Bearer {key}"
    before = Event.objects.count(), UserNotification.objects.count()
    for url in HOSTILE_URLS:
        actions = [{"label": "Open", "url": "/fine/"}, {"label": "Bait", "url": url}]
        response = service.post(
            live_server.url + "/api/v1/events/",
            json={"event_type": "scenario.created", "data": {"actions": actions}},
            timeout=10,
        )
        assert response.status_code == 400, (url, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_input"
        assert error["details"]["data"]["actions"][0].startswith("Action 1: ")
    assert (Event.objects.count(), UserNotification.objects.count()) == before

    fine = [{"label": "Open", "url": "https://shop.example.com/orders/42"}, {"label": "Help", "url": "/help/"}]
    response = service.post(
        live_server.url + "/api/v1/events/",
        json={"event_type": "scenario.created", "data": {"actions": fine}},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    assert Event.objects.count() == before[0] + 1
