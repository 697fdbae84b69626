"""The preference center (/inbox/preferences/) attacked over HTTP against a live server
with real session sign-in: carol forges the form to subscribe herself to what only a
service may give her, posts without the CSRF token, or without signing in. Each
refusal is checked along with the fact that nothing was written."""

import re

import pytest
import requests

from apps.common.channels import Channel
from apps.events.event_types import event_type_ensure
from apps.subscriptions.models import Preference, Subscription, SubscriptionOptOut
from apps.subscriptions.services import subscription_ensure

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/inbox/preferences/"
RESET = "account.password_reset"


def snapshot():
    return [list(model.objects.order_by("pk").values()) for model in (Subscription, SubscriptionOptOut, Preference)]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


class Person:
    """A browser-like requests session signed in through the sign-in form."""

    def __init__(self, base: str, username: str):
        self.base = base
        self.http = requests.Session()
        login = self.http.get(f"{base}/accounts/login/", timeout=10)
        answer = self.http.post(
            f"{base}/accounts/login/",
            data={"csrfmiddlewaretoken": csrf_of(login.text), "username": username, "password": "secret-pass-1"},
            headers={"Referer": f"{base}/accounts/login/"},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text

    def post_form(self, fields: dict, *, csrf=True, **headers):
        page = self.http.get(self.base + PAGE, timeout=10)
        assert page.status_code == 200
        data = {"timezone": "UTC", "digest": "off", **fields}
        if csrf:
            data["csrfmiddlewaretoken"] = csrf_of(page.text)
        return self.http.post(
            self.base + PAGE,
            data=data,
            headers={"Referer": self.base + PAGE, **headers},
            allow_redirects=False,
            timeout=10,
        )


@pytest.fixture
def carol(live_server, event_types, make_user):
    user = make_user("carol")
    return user, Person(live_server.url, "carol")


@pytest.fixture
def reset_type(db):
    return event_type_ensure(key=RESET, name="Password reset", self_service=False)


def test_a_forged_toggle_for_a_type_that_is_not_self_service_is_refused(carol, reset_type):
    user, person = carol
    before = snapshot()
    for accept in ("text/html", "application/json"):
        response = person.post_form(
            {"subscription": [f"{RESET}:email", "scenario.created:email"], "digest": "hourly"}, Accept=accept
        )
        assert response.status_code == 403, response.text
        assert "a service manages these subscriptions" in response.text
    assert response.json()["error"]["code"] == "permission_denied"
    # Not the forged row, nor the genuine toggle and digest sent with it.
    assert snapshot() == before
    assert not Subscription.objects.filter(user=user).exists()


def test_a_forged_toggle_cannot_switch_on_a_disabled_own_row_of_a_closed_type(carol, reset_type):
    """A row carol made while the type was self-service, switched off since: the page
    does not offer it and a forged opt-in asks the rule again."""
    user, person = carol
    Subscription.objects.create(user=user, event_type=reset_type, channel=Channel.EMAIL, enabled=False)
    before = snapshot()
    response = person.post_form({"subscription": [f"{RESET}:email"]})
    assert response.status_code == 403 and "a service manages these subscriptions" in response.text
    assert snapshot() == before


def test_saving_the_page_leaves_what_a_service_subscribed_her_to(carol, reset_type):
    user, person = carol
    subscription_ensure(user=user, event_type=reset_type, channel=Channel.EMAIL)
    response = person.post_form({"subscription": ["scenario.created:in_app"]})
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    assert Subscription.objects.get(user=user, event_type=reset_type).enabled is True
    assert Subscription.objects.get(user=user, event_type__key="scenario.created").channel == Channel.IN_APP


def test_a_post_without_the_csrf_token_is_refused(carol):
    user, person = carol
    before = snapshot()
    response = person.post_form({"subscription": ["scenario.created:email"], "digest": "daily"}, csrf=False)
    assert response.status_code == 403 and "CSRF" in response.text
    assert snapshot() == before


def test_a_post_without_signing_in_goes_to_the_sign_in_page(live_server, event_types, make_user):
    make_user("dan")
    before = snapshot()
    http = requests.Session()
    page = http.get(live_server.url + PAGE, allow_redirects=False, timeout=10)
    assert page.status_code == 302 and page.headers["Location"] == f"/accounts/login/?next={PAGE}"
    login = http.get(live_server.url + "/accounts/login/", timeout=10)
    response = http.post(
        live_server.url + PAGE,
        data={"csrfmiddlewaretoken": csrf_of(login.text), "subscription": "scenario.created:email", "digest": "daily"},
        headers={"Referer": live_server.url + PAGE},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302 and response.headers["Location"].startswith("/accounts/login/")
    assert snapshot() == before
