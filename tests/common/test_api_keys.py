from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from apps.common.models import ApiKey
from apps.common.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def bearer(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_revoked_key_is_refused_on_the_next_request(event_types):
    api_key, raw = api_key_create(name="billing")
    client = bearer(raw)
    assert client.get("/api/v1/event-types/").status_code == 200
    api_key_revoke(api_key=api_key)
    response = client.get("/api/v1/event-types/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_wrong_secret_and_garbage_are_401(event_types):
    api_key, raw = api_key_create(name="billing")
    assert bearer(raw[:-2] + "xx").get("/api/v1/event-types/").status_code == 401
    assert bearer("nsk_nothing").get("/api/v1/event-types/").status_code == 401


@pytest.mark.parametrize(
    ("scopes", "method", "path", "body"),
    [
        (["read"], "post", "/api/v1/events/", {"event_type": "scenario.created"}),
        (["events:write"], "post", "/api/v1/notifications/", {"event_type": "scenario.created", "recipients": [1]}),
        (["notifications:write"], "post", "/api/v1/users/", {"username": "x", "email": "x@example.com"}),
        (["users:write"], "post", "/api/v1/event-types/", {"key": "a.b", "name": "A"}),
        (["events:write"], "get", "/api/v1/users/", None),
    ],
)
def test_missing_scope_is_403(event_types, scopes, method, path, body):
    _, raw = api_key_create(name="narrow", scopes=scopes)
    response = getattr(bearer(raw), method)(path, body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert get_user_model().objects.filter(username="x").count() == 0


def test_last_used_at_is_written_at_most_once_a_minute(event_types, django_assert_num_queries):
    api_key, raw = api_key_create(name="billing", scopes=["read"])
    client = bearer(raw)
    client.get("/api/v1/event-types/")
    first = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert first is not None
    # Within the minute: the key lookup and the list, no UPDATE.
    with django_assert_num_queries(2):
        client.get("/api/v1/event-types/")
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    client.get("/api/v1/event-types/")
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at > first


def test_admin_creates_a_key_shows_it_once_and_stores_only_its_hash(admin_client):
    response = admin_client.post("/admin/common/apikey/add/", {"name": "crm", "scopes": '["read"]'}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"] if "shown this once" in str(m)]
    assert len(shown) == 1
    raw = shown[0].rsplit(" ", 1)[1]
    api_key = ApiKey.objects.get(name="crm")
    assert raw not in api_key.key_hash and api_key.key_hash != raw
    assert bearer(raw).get("/api/v1/event-types/").status_code == 200
    # The change page never shows it again.
    page = admin_client.get(f"/admin/common/apikey/{api_key.pk}/change/").content.decode()
    assert raw not in page


def test_admin_revoke_action_stops_the_key(admin_client, event_types):
    api_key, raw = api_key_create(name="crm")
    admin_client.post("/admin/common/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None
    assert bearer(raw).get("/api/v1/event-types/").status_code == 401
