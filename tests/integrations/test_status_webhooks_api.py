"""Status webhook endpoints tried through HTTP against a live server with real API-key,
token and session auth: a key sees and removes only its own, people cannot use them at
all, and a bad or private URL is refused in the error envelope. Each refusal is checked
along with the fact that nothing was written."""

import base64

import pytest
from rest_framework.authtoken.models import Token

from apps.common.services import api_key_create
from apps.integrations.models import StatusWebhookEndpoint

from ..live_api import Api, assert_envelope
from ..security.signing_in import admin_signed_in

pytestmark = pytest.mark.django_db(transaction=True)

URL = "https://hooks.example.com/status"


def endpoints():
    return list(StatusWebhookEndpoint.objects.order_by("pk").values())


@pytest.fixture
def services(live_server):
    """Two services, each with its own API key (no scope needed: the endpoints are the key's own)."""
    return {name: Api(live_server.url, f"Bearer {api_key_create(name=name)[1]}") for name in ("shop", "billing")}


@pytest.fixture(autouse=True)
def resolvable_example_host(monkeypatch):
    """hooks.example.com resolves to a public address (documentation range aside), as a
    real receiver's would; every other name resolves as usual."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_service_registers_sees_the_secret_once_lists_and_removes(services):
    api = services["shop"]
    created = api.post("/api/v1/status-webhooks/", {"url": URL})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["url"] == URL and body["attempts"] == 0 and body["next_try_at"] is None
    secret = body["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32

    listed = api.get("/api/v1/status-webhooks/").json()["results"]
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0] and secret not in api.get("/api/v1/status-webhooks/").text

    assert api.delete(f"/api/v1/status-webhooks/{body['id']}/").status_code == 204
    assert api.get("/api/v1/status-webhooks/").json()["results"] == []
    assert endpoints() == []


def test_another_services_endpoint_is_invisible_and_stays(services):
    mine = services["shop"].post("/api/v1/status-webhooks/", {"url": URL}).json()
    before = endpoints()

    thief = services["billing"]
    assert thief.get("/api/v1/status-webhooks/").json()["results"] == []
    assert_envelope(thief.delete(f"/api/v1/status-webhooks/{mine['id']}/"), 404, "not_found")
    assert endpoints() == before
    assert [e["id"] for e in services["shop"].get("/api/v1/status-webhooks/").json()["results"]] == [mine["id"]]


def test_a_person_cannot_use_status_webhooks_by_token_or_session(live_server, make_user, services):
    services["shop"].post("/api/v1/status-webhooks/", {"url": URL})
    before = endpoints()
    alice = make_user("alice")
    by_token = Api(live_server.url, f"Token {Token.objects.create(user=alice).key}")
    staff = make_user("root")
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["is_staff", "is_superuser"])
    by_session = admin_signed_in(live_server, staff)
    csrf = {"X-CSRFToken": by_session.cookies["csrftoken"], "Referer": live_server.url + "/"}

    for response in (
        by_token.get("/api/v1/status-webhooks/"),
        by_token.post("/api/v1/status-webhooks/", {"url": URL}),
        by_token.delete(f"/api/v1/status-webhooks/{before[0]['id']}/"),
        by_session.get(live_server.url + "/api/v1/status-webhooks/", timeout=10),
        by_session.post(live_server.url + "/api/v1/status-webhooks/", json={"url": URL}, headers=csrf, timeout=10),
        by_session.delete(live_server.url + f"/api/v1/status-webhooks/{before[0]['id']}/", headers=csrf, timeout=10),
    ):
        error = assert_envelope(response, 403, "permission_denied")
        assert "API key" in error["message"]
    assert endpoints() == before


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not a url", "only http and https"),
        ("ftp://hooks.example.com/x", "only http and https"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("http://hooks.example.com/x", "https"),
        ("https://10.1.2.3/hook", "private address"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        # 127.0.0.1 is not the allow-listed test name (localhost): refused like any loopback.
        ("http://127.0.0.1:9/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ],
)
def test_a_bad_or_private_url_is_refused_in_the_envelope_and_nothing_is_written(services, url, reason):
    error = assert_envelope(services["shop"].post("/api/v1/status-webhooks/", {"url": url}), 400, "invalid_input")
    assert reason in " ".join(error["details"]["url"])
    assert endpoints() == []


def test_a_missing_url_is_refused(services):
    error = assert_envelope(services["shop"].post("/api/v1/status-webhooks/", {}), 400, "invalid_input")
    assert "url" in error["details"]
    assert endpoints() == []
