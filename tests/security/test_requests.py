"""Hostile request bodies, sent over HTTP to a live server at every URL of the URLconf
that takes a body: none may cause a 5xx, every API answer is the error envelope, and
nothing is written."""

import base64
import json
import re
import time

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token

from apps.accounts.models import PushSubscription, WebhookEndpoint
from apps.common.models import ApiKey
from apps.events.models import Event, EventType
from apps.scenarios.models import Scenario
from apps.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()

SENDGRID_PATH = "api/v1/webhooks/sendgrid/events/"
# HTML pages and the operator's tools answer as pages, not the API's envelope; the
# admin's own model pages sit behind its sign-in (its login form is attacked here).
NOT_ATTACKED = re.compile(r"^(admin/(?!login/)|api/docs/|api/schema/|metrics|health/)")
HTML_PAGES = re.compile(r"^(admin/|accounts/|inbox/|unsubscribe/|dev/)")


def _routes(patterns=None, prefix=""):
    """(route, methods) for every URL pattern: the body-taking methods a class-based view
    defines, or POST for a function view (a 405 from it means it takes none)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            if NOT_ATTACKED.match(route):
                continue
            view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
            methods = [m for m in ("post", "put", "patch") if hasattr(view, m)] if view else ["post"]
            if methods:
                yield route, methods


ROUTES = list(_routes())


def _schema_path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


@pytest.fixture(scope="module")
def bodiless_operations():
    """(route, method) of the API operations that take no body (execute, rotate, mark
    read, ...), from the OpenAPI schema: they ignore what is sent and may act."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return {
        (route, method)
        for route, methods in ROUTES
        for method in methods
        if _schema_path(route) in paths
        and method in paths[_schema_path(route)]
        and "requestBody" not in paths[_schema_path(route)][method]
    }


ATTACKS = {
    "nested_arrays": b"[" * 20_000,
    "nested_objects": b'{"a":' * 20_000,
    "nested_closed": b"[" * 5_000 + b"]" * 5_000,
    # Within Python's recursion limit: refused by the depth check (JSON_MAX_DEPTH = 64).
    "one_level_too_deep": b'{"data": ' + b"[" * 64 + b"]" * 64 + b"}",
    "truncated": b'{"event_type": "scenario.created", "data": {"x": [1, 2',
    "non_utf8": b'{"name": "\xff\xfe\xc3\x28"}',
    "utf16": '{"name": "x"}'.encode("utf-16"),
    "bom": b'\xef\xbb\xbf{"name": "x"}',
    "nan": b'{"priority": NaN, "data": {"x": Infinity}}',
    "huge_float": b'{"data": {"x": 1e400}, "priority": 1e400}',
    "huge_int": b'{"data": {"x": ' + b"9" * 30 + b'}, "recipients": [' + b"9" * 30 + b"]}",
    "too_many_digits": b'{"x": ' + b"9" * 5_000 + b"}",
    "duplicate_keys": b'{"name": "a", "name": "b"}',
    "nul": b'{"name": "\\u0000"}',
}


def _fill(route: str, ids: dict) -> str:
    def value(match):
        converter, name = match.group(1), match.group(2)
        if converter == "int":
            return str(ids.get(name, 1))
        return {"key": "scenario.created", "action": "read"}.get(name, "x")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


@pytest.fixture
def attack_setup(live_server, make_user, event_types, settings, bodiless_operations):
    from apps.common.services import api_key_create

    person = make_user("mallory")
    scenario = Scenario.objects.create(owner=person, name="mine")
    endpoint = WebhookEndpoint.objects.create(user=person, url="https://localhost/hook", secret="s" * 32)
    subscription = Subscription.objects.create(user=person, event_type=event_types["scenario.created"])
    _, api_key = api_key_create(name="attacker service")
    sendgrid = ec.generate_private_key(ec.SECP256R1())
    der = sendgrid.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = base64.b64encode(der).decode()
    ids = {
        "user_id": person.pk,
        "scenario_id": scenario.pk,
        "endpoint_id": endpoint.pk,
        "subscription_id": subscription.pk,
    }
    credentials = {
        "person": {"Authorization": f"Token {Token.objects.create(user=person).key}"},
        "service": {"Authorization": f"Bearer {api_key}"},
    }
    return {
        "ids": ids,
        "credentials": credentials,
        "sendgrid": sendgrid,
        "base": live_server.url,
        "bodiless": bodiless_operations,
    }


def _sendgrid_headers(key, body: bytes) -> dict:
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


def _row_counts() -> dict:
    # The tables a body-taking operation writes (the bodiless ones, e.g. execute, may act).
    models = (User, Scenario, Subscription, WebhookEndpoint, PushSubscription, EventType, ApiKey)
    return {model.__name__: model.objects.count() for model in models}


def _attack(setup, body: bytes, content_type="application/json") -> list[str]:
    """Send `body` with every method each route takes, as a person and as a service;
    return what went wrong."""
    wrong = []
    counts = _row_counts()
    with requests.Session() as http:
        for route, methods in ROUTES:
            url = setup["base"] + _fill(route, setup["ids"])
            for method in methods:
                for who, headers in setup["credentials"].items():
                    headers = {**headers, "Content-Type": content_type}
                    if route == SENDGRID_PATH:
                        headers.update(_sendgrid_headers(setup["sendgrid"], body))
                    response = http.request(method, url, data=body, headers=headers, timeout=30)
                    label = f"{method.upper()} {route} as {who}: {response.status_code}"
                    if response.status_code >= 500:
                        wrong.append(f"{label} {response.text[:200]}")
                    elif response.status_code >= 400 and not HTML_PAGES.match(route):
                        try:
                            error = response.json()["error"]
                            assert set(error) == {"code", "message", "details"} and error["message"]
                        except (ValueError, KeyError, TypeError, AssertionError):
                            wrong.append(f"{label} not the envelope: {response.text[:200]}")
                    elif response.status_code < 400 and (route, method) not in setup["bodiless"]:
                        wrong.append(f"{label} accepted the body")
    if _row_counts() != counts:
        wrong.append(f"rows written: {counts} -> {_row_counts()}")
    return wrong


def _check(wrong):
    if wrong:
        pytest.fail("\n".join(wrong))


def test_every_body_taking_url_is_attacked(bodiless_operations):
    # The enumeration itself must see the API: a broken walk would make every attack vacuous.
    routes = {route for route, _ in ROUTES}
    assert {"api/v1/auth/token/", "api/v1/events/", "api/v1/notifications/", SENDGRID_PATH} <= routes
    assert "admin/login/" in routes and "accounts/login/" in routes
    assert len(routes) > 25
    assert ("api/v1/scenarios/<int:scenario_id>/execute/", "post") in bodiless_operations
    assert ("api/v1/events/", "post") not in bodiless_operations


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_hostile_json_is_a_400_in_the_envelope_everywhere(attack_setup, attack):
    _check(_attack(attack_setup, ATTACKS[attack]))


@pytest.mark.parametrize("attack", ["nested_arrays", "truncated", "non_utf8"])
def test_the_answer_names_the_parse_error(attack_setup, attack):
    response = requests.post(
        attack_setup["base"] + "/api/v1/events/",
        data=ATTACKS[attack],
        headers={**attack_setup["credentials"]["service"], "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_token_endpoint_refuses_a_nested_body(attack_setup):
    response = requests.post(
        attack_setup["base"] + "/api/v1/auth/token/",
        data=ATTACKS["nested_objects"],
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_a_body_of_another_content_type_is_415(attack_setup):
    form = "name=x&event_type=scenario.created"
    _check(_attack(attack_setup, form.encode(), content_type="application/x-www-form-urlencoded"))
    for path, who in [("/api/v1/events/", "service"), ("/api/v1/scenarios/", "person"), ("/" + SENDGRID_PATH, None)]:
        headers = {"Content-Type": "text/plain"}
        if who:
            headers.update(attack_setup["credentials"][who])
        else:
            headers.update(_sendgrid_headers(attack_setup["sendgrid"], b"[]"))
        response = requests.post(attack_setup["base"] + path, data=b"[]", headers=headers, timeout=30)
        assert response.status_code == 415, (path, response.text)
        assert response.json()["error"]["code"] == "unsupported_media_type"


def test_json_within_the_limits_still_works(attack_setup):
    """The parser refuses only what it must: nested data, big and small numbers."""
    data = {"x": 2**63 - 1, "y": -(2**63), "z": -0.25, "deep": json.loads("[" * 8 + "]" * 8)}
    response = requests.post(
        attack_setup["base"] + "/api/v1/events/",
        json={"event_type": "scenario.created", "data": data},
        headers=attack_setup["credentials"]["service"],
        timeout=30,
    )
    assert response.status_code in (201, 202), response.text
    assert Event.objects.order_by("-id").first().data == data
