"""Sign-in attacks over HTTP against a live server: password guessing is locked out per
username and per address on all three sign-in endpoints, and person tokens expire, can
be revoked, and die when the password changes on any path."""

import re
import time
from datetime import timedelta

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.utils import timezone
from requests.adapters import HTTPAdapter
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "secret-pass-1"  # tests/conftest.py make_user
LIMIT = 3
COOLOFF = 4


class SourceAddressAdapter(HTTPAdapter):
    """Connects from a chosen loopback address: another client, as the server sees it."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(source: str) -> requests.Session:
    http = requests.Session()
    http.mount("http://", SourceAddressAdapter(source))
    return http


def api_signin(base, username, password, source="127.0.0.1"):
    with session_from(source) as http:
        return http.post(f"{base}/api/v1/auth/token/", json={"username": username, "password": password}, timeout=30)


def form_signin(base, path, username, password, source="127.0.0.1"):
    with session_from(source) as http:
        page = http.get(f"{base}{path}", timeout=30)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return http.post(
            f"{base}{path}",
            data={"csrfmiddlewaretoken": csrf, "username": username, "password": password},
            headers={"Referer": f"{base}{path}"},
            allow_redirects=False,
            timeout=30,
        )


def signed_in(endpoint, response) -> bool:
    if endpoint == "api":
        return response.status_code == 200 and "token" in response.json()
    return response.status_code == 302 and "sessionid" in response.cookies


def signin(endpoint, base, username, password, source="127.0.0.1"):
    if endpoint == "api":
        return api_signin(base, username, password, source)
    path = {"accounts": "/accounts/login/", "admin": "/admin/login/"}[endpoint]
    return form_signin(base, path, username, password, source)


def assert_locked(endpoint, response):
    assert response.status_code == 429, response.text[:300]
    assert response.headers["Retry-After"] == str(COOLOFF)
    if endpoint == "api":
        error = response.json()["error"]
        assert error["code"] == "signin_locked"
        assert error["details"] == {"retry_after": COOLOFF}
        assert error["message"]
    else:
        assert "Too many failed sign-ins" in response.text
        assert "sessionid" not in response.cookies


@pytest.fixture
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(seconds=COOLOFF)


@pytest.fixture
def people(make_user):
    return {name: make_user(name) for name in ("alice", "bob", "carol")}


@pytest.fixture
def staff_flag(people):
    # So that the admin's own staff check does not stand between them and a session.
    get_user_model().objects.filter(username__in=people).update(is_staff=True)


@pytest.mark.parametrize("endpoint", ["api", "accounts", "admin"])
def test_guessing_locks_the_username_and_the_address_until_the_cool_off(
    live_server, lockout, people, staff_flag, endpoint
):
    base = live_server.url
    assert signed_in(endpoint, signin(endpoint, base, "carol", PASSWORD, "127.0.0.9"))  # the endpoint works
    tokens, sessions = Token.objects.count(), Session.objects.count()

    for attempt in range(LIMIT):
        response = signin(endpoint, base, "alice", f"guess-{attempt}")
        assert not signed_in(endpoint, response)
    assert_locked(endpoint, response)

    # The right password is refused while locked, and nothing is issued.
    assert_locked(endpoint, signin(endpoint, base, "alice", PASSWORD))
    # Per username: alice from another address is locked too.
    assert_locked(endpoint, signin(endpoint, base, "alice", PASSWORD, "127.0.0.2"))
    # Per address: bob, who never failed, is locked from the guessing address...
    assert_locked(endpoint, signin(endpoint, base, "bob", PASSWORD))
    assert (Token.objects.count(), Session.objects.count()) == (tokens, sessions)
    # ...and not from his own.
    assert signed_in(endpoint, signin(endpoint, base, "bob", PASSWORD, "127.0.0.3"))

    time.sleep(COOLOFF + 0.5)
    assert signed_in(endpoint, signin(endpoint, base, "alice", PASSWORD))


def test_fewer_failures_than_the_limit_do_not_lock(live_server, lockout, people):
    for attempt in range(LIMIT - 1):
        assert api_signin(live_server.url, "alice", f"guess-{attempt}").status_code == 400
    assert signed_in("api", api_signin(live_server.url, "alice", PASSWORD))


def test_an_overlong_username_is_a_400_naming_it(live_server, lockout, people):
    response = api_signin(live_server.url, "a" * 1000, "guess")
    assert response.status_code == 400
    assert "username" in response.json()["error"]["details"]


# --- person tokens ---------------------------------------------------------------------


def get_inbox(base, token):
    return requests.get(f"{base}/api/v1/inbox/", headers={"Authorization": f"Token {token}"}, timeout=30)


def assert_refused(response):
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "not_authenticated" and error["message"]


def token_for(base, username, password=PASSWORD) -> str:
    response = api_signin(base, username, password)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def test_a_revoked_token_answers_401(live_server, people):
    base = live_server.url
    token = token_for(base, "alice")
    other = token_for(base, "bob")
    assert get_inbox(base, token).status_code == 200

    response = requests.delete(f"{base}/api/v1/auth/token/", headers={"Authorization": f"Token {token}"}, timeout=30)
    assert response.status_code == 204
    assert_refused(get_inbox(base, token))
    assert not Token.objects.filter(key=token).exists()
    assert get_inbox(base, other).status_code == 200  # only the token in use
    # Signing in again issues a new one.
    assert token_for(base, "alice") != token


def test_revoking_needs_a_person_token(live_server, people, api_key_client):
    from apps.common.services import api_key_create

    _, key = api_key_create(name="svc")
    response = requests.delete(
        f"{live_server.url}/api/v1/auth/token/", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_an_expired_token_answers_401_and_sign_in_issues_a_new_one(live_server, people, settings):
    settings.PERSON_TOKEN_TTL_SECONDS = 3600
    base = live_server.url
    token = token_for(base, "alice")
    Token.objects.filter(key=token).update(created=timezone.now() - timedelta(seconds=3599))
    assert get_inbox(base, token).status_code == 200
    assert token_for(base, "alice") == token  # still valid: the same token

    Token.objects.filter(key=token).update(created=timezone.now() - timedelta(seconds=3601))
    assert_refused(get_inbox(base, token))
    # Signing in again works even with the stale token still sent along.
    response = requests.post(
        f"{base}/api/v1/auth/token/",
        json={"username": "alice", "password": PASSWORD},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    fresh = response.json()["token"]
    assert fresh != token
    assert get_inbox(base, fresh).status_code == 200


def test_a_password_change_through_the_users_api_ends_the_tokens(live_server, people):
    from apps.common.services import api_key_create

    base = live_server.url
    token = token_for(base, "alice")
    _, key = api_key_create(name="directory", scopes=["users:write"])
    response = requests.patch(
        f"{base}/api/v1/users/{people['alice'].pk}/",
        json={"password": "a-new-password-2"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert "password" not in response.json()
    assert_refused(get_inbox(base, token))
    assert api_signin(base, "alice", PASSWORD).status_code == 400
    assert get_inbox(base, token_for(base, "alice", "a-new-password-2")).status_code == 200


def test_a_password_change_in_the_admin_ends_the_tokens(live_server, people, make_user):
    base = live_server.url
    token = token_for(base, "alice")
    make_user("root")
    get_user_model().objects.filter(username="root").update(is_staff=True, is_superuser=True)
    with requests.Session() as admin:
        page = admin.get(f"{base}/admin/login/", timeout=30)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        login = admin.post(
            f"{base}/admin/login/",
            data={"csrfmiddlewaretoken": csrf, "username": "root", "password": PASSWORD},
            headers={"Referer": f"{base}/admin/login/"},
            allow_redirects=False,
            timeout=30,
        )
        assert login.status_code == 302
        url = f"{base}/admin/auth/user/{people['alice'].pk}/password/"
        form = admin.get(url, timeout=30)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        changed = admin.post(
            url,
            data={"csrfmiddlewaretoken": csrf, "password1": "admin-set-pass-3", "password2": "admin-set-pass-3"},
            headers={"Referer": url},
            allow_redirects=False,
            timeout=30,
        )
        assert changed.status_code == 302, changed.text[:500]
    assert_refused(get_inbox(base, token))
    assert get_inbox(base, token_for(base, "alice", "admin-set-pass-3")).status_code == 200


def test_set_password_anywhere_ends_the_tokens(live_server, people):
    """The hook is in the model's save(): `manage.py changepassword`, password reset and
    any code path that calls set_password() and saves."""
    base = live_server.url
    token = token_for(base, "alice")
    alice = people["alice"]
    alice.set_password("changed-elsewhere-4")
    alice.save()
    assert_refused(get_inbox(base, token))
    # Saving other fields without a new password leaves a token alone.
    token = token_for(base, "alice", "changed-elsewhere-4")
    alice.first_name = "Alice"
    alice.save()
    assert get_inbox(base, token).status_code == 200
