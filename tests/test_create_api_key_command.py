from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.common.models import ApiKey

pytestmark = pytest.mark.django_db


def test_prints_a_working_key_once_and_stores_only_its_hash(event_types):
    out = StringIO()
    call_command("create_api_key", "--name", "shop", "--scopes", "read", stdout=out, stderr=StringIO())
    raw = out.getvalue().strip()
    key = ApiKey.objects.get(name="shop")
    assert key.scopes == ["read"]
    assert raw.split("_", 2)[2] not in key.key_hash

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/event-types/").status_code == 200
    assert client.post("/api/v1/events/", {"event_type": "scenario.created"}, format="json").status_code == 403


def test_unknown_scope_is_refused():
    with pytest.raises(CommandError, match="Unknown scopes: everything"):
        call_command("create_api_key", "--name", "x", "--scopes", "everything", stdout=StringIO())
    assert ApiKey.objects.count() == 0
