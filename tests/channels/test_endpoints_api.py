"""The person-facing API for push subscriptions and webhook endpoints: validation in the
error envelope with nothing written, own data only, secrets shown once."""

import base64

import pytest
from django.test import override_settings

from apps.accounts.models import PushSubscription, WebhookEndpoint
from apps.accounts.services import MAX_WEBHOOK_ENDPOINTS_PER_USER

from ..web_push_browser import Browser

pytestmark = pytest.mark.django_db

PUSH = "/api/v1/push-subscriptions/"
HOOKS = "/api/v1/webhook-endpoints/"


def assert_bad_input(response, field):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in str(error["details"])
    return error


# --- push subscriptions -------------------------------------------------------


def test_register_list_refresh_and_delete_own_push_subscriptions(make_user, client_for):
    ann = make_user("ann")
    client = client_for(ann)
    browser = Browser()
    body = {"endpoint": "http://localhost:9/push/abc", "keys": browser.keys, "expirationTime": None}
    created = client.post(PUSH, body, format="json", HTTP_USER_AGENT="Firefox")
    assert created.status_code == 201
    assert created.json()["keys"] == browser.keys and created.json()["user_agent"] == "Firefox"

    # The browser re-subscribes with new keys: same row, keys refreshed.
    newer = Browser().keys
    again = client.post(PUSH, {**body, "keys": newer}, format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert PushSubscription.objects.get().p256dh == newer["p256dh"]

    assert [s["id"] for s in client.get(PUSH).json()["results"]] == [created.json()["id"]]
    assert client.delete(f"{PUSH}{created.json()['id']}/").status_code == 204
    assert not PushSubscription.objects.exists()


def test_someone_elses_push_subscription_is_not_found(make_user, client_for):
    ann, bob = make_user("ann"), make_user("bob")
    own = client_for(ann).post(PUSH, {"endpoint": "http://localhost:9/p", "keys": Browser().keys}, format="json")
    sub_id = own.json()["id"]
    intruder = client_for(bob)
    assert intruder.get(PUSH).json()["results"] == []
    response = intruder.delete(f"{PUSH}{sub_id}/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert intruder.get(f"{PUSH}{sub_id}/").status_code == 404
    assert PushSubscription.objects.filter(pk=sub_id).exists()


def _not_on_curve():
    return base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "https://169.254.169.254/push"}, "endpoint"),
        ({"endpoint": "http://127.0.0.1:9/push"}, "endpoint"),
        ({"endpoint": "http://8.8.8.8/push"}, "https"),
        ({"endpoint": "not a url"}, "endpoint"),
        ({"endpoint": "https://x/" + "a" * 2100}, "endpoint"),
        ({"keys": {"p256dh": _not_on_curve(), "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "p256dh"),
        ({"keys": {"p256dh": "BAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "p256dh"),
        ({"keys": {"p256dh": "!!!", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "p256dh"),
        ({"keys": {"auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "p256dh"),
        ({"keys": "nope"}, "keys"),
        ({"endpoint": None}, "endpoint"),
        ({"endpoint": ["x"]}, "endpoint"),
    ],
)
def test_bad_push_subscriptions_get_400_and_nothing_is_written(change, field, make_user, client_for):
    body = {"endpoint": "http://localhost:9/push", "keys": Browser().keys, **change}
    assert_bad_input(client_for(make_user()).post(PUSH, body, format="json"), field)
    assert not PushSubscription.objects.exists()


def test_a_bad_auth_secret_length_is_refused(make_user, client_for):
    keys = {**Browser().keys, "auth": "AAAA"}
    body = {"endpoint": "http://localhost:9/push", "keys": keys}
    assert "16 bytes" in str(assert_bad_input(client_for(make_user()).post(PUSH, body, format="json"), "auth"))


@pytest.mark.parametrize("body", [b"[]", b"null", b'"x"', b"{", b'{"keys": {"p256dh": {"a": 1}, "auth": 5}}'])
def test_any_body_gets_a_4xx_never_a_500(body, make_user, client_for):
    client = client_for(make_user())
    for path in (PUSH, HOOKS):
        response = client.generic("POST", path, body, content_type="application/json")
        assert 400 <= response.status_code < 500 and "error" in response.json()


def test_services_and_strangers_cannot_use_the_person_endpoints(api_key_client):
    from rest_framework.test import APIClient

    assert APIClient().get(PUSH).status_code in (401, 403)
    assert api_key_client(["events:write"]).get(HOOKS).status_code == 403


def test_the_vapid_public_key_is_served_when_configured(client):
    from django.conf import settings

    assert client.get("/api/v1/push/vapid-public-key/").json() == {"public_key": settings.VAPID_PUBLIC_KEY}
    with override_settings(VAPID_PUBLIC_KEY=""):
        response = client.get("/api/v1/push/vapid-public-key/")
    assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"


# --- webhook endpoints --------------------------------------------------------


def test_the_secret_is_shown_on_create_and_rotate_only(make_user, client_for):
    client = client_for(make_user("ann"))
    created = client.post(HOOKS, {"url": "http://localhost:9/hook", "description": "CI"}, format="json")
    assert created.status_code == 201
    endpoint_id, secret = created.json()["id"], created.json()["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32

    listed = client.get(HOOKS).json()["results"]
    assert [e["id"] for e in listed] == [endpoint_id] and "secret" not in listed[0]
    assert "secret" not in client.get(f"{HOOKS}{endpoint_id}/").json()

    rotated = client.post(f"{HOOKS}{endpoint_id}/rotate/")
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != secret
    assert rotated.json()["previous_secret_expires_at"] is not None
    stored = WebhookEndpoint.objects.get()
    assert (stored.secret, stored.previous_secret) == (rotated.json()["secret"], secret)

    assert client.delete(f"{HOOKS}{endpoint_id}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_someone_elses_webhook_endpoint_is_not_found(make_user, client_for):
    ann, bob = make_user("ann"), make_user("bob")
    endpoint_id = client_for(ann).post(HOOKS, {"url": "http://localhost:9/h"}, format="json").json()["id"]
    secret = WebhookEndpoint.objects.get().secret
    intruder = client_for(bob)
    assert intruder.get(HOOKS).json()["results"] == []
    for response in (
        intruder.get(f"{HOOKS}{endpoint_id}/"),
        intruder.delete(f"{HOOKS}{endpoint_id}/"),
        intruder.post(f"{HOOKS}{endpoint_id}/rotate/"),
    ):
        assert response.status_code == 404 and "secret" not in str(response.json())
    assert WebhookEndpoint.objects.get().secret == secret


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:9/hook", "loopback address 127.0.0.1"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback address 127.0.0.1"),
        ("http://2130706433/hook", "loopback address 127.0.0.1"),
        ("https://169.254.169.254/latest", "cloud metadata"),
        ("https://[fd00:ec2::254]/latest", "cloud metadata"),
        ("https://10.0.0.8/hook", "private address"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("http://8.8.8.8/hook", "must use https"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
        ("javascript:alert(1)", "only http and https"),
    ],
)
def test_webhook_urls_are_vetted_at_registration(url, message, make_user, client_for):
    error = assert_bad_input(client_for(make_user()).post(HOOKS, {"url": url}, format="json"), "url")
    assert message in str(error["details"]["url"])
    assert not WebhookEndpoint.objects.exists()


def test_a_person_has_a_bounded_number_of_endpoints(make_user, client_for):
    client = client_for(make_user())
    for i in range(MAX_WEBHOOK_ENDPOINTS_PER_USER):
        assert client.post(HOOKS, {"url": f"http://localhost:9/h{i}"}, format="json").status_code == 201
    over = client.post(HOOKS, {"url": "http://localhost:9/one-more"}, format="json")
    assert over.status_code == 400 and "At most" in over.json()["error"]["message"] + str(over.json()["error"])
    assert WebhookEndpoint.objects.count() == MAX_WEBHOOK_ENDPOINTS_PER_USER
