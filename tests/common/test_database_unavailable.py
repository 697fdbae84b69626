"""A database that refuses connections answers 503 with Retry-After in the envelope,
from a REST framework view (through HTTP) and from outside one (handler500)."""

import json

import pytest
import requests
from django.db import OperationalError
from django.test import RequestFactory

from apps.common import auth as common_auth
from apps.common.errors import handler500
from apps.common.services import api_key_create
from apps.events.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refused_connection_in_a_view_is_503_with_retry_after(live_server, event_types, monkeypatch, settings):
    settings.DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS = 7
    _, raw = api_key_create(name="caller")

    def refused(self, request):
        raise OperationalError("connection failed: FATAL:  sorry, too many clients already")

    # The first query of the request (the API key's lookup) meets a refusing server.
    monkeypatch.setattr(common_auth.ApiKeyAuthentication, "authenticate", refused)
    answer = requests.post(
        f"{live_server.url}/api/v1/events/",
        json={"event_type": "scenario.created"},
        headers={"Authorization": f"Bearer {raw}"},
        timeout=30,
    )
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "7"
    assert answer.json()["error"] == {
        "code": "database_unavailable",
        "message": "The database is unavailable; nothing was saved. Retry after the given delay.",
        "details": {"retry_after": 7},
    }
    assert not Event.objects.exists()


def test_outside_a_view_handler500_answers_503_for_a_database_outage_only(settings):
    settings.DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS = 5
    request = RequestFactory().get("/")
    try:
        raise OperationalError("the server closed the connection unexpectedly")
    except OperationalError:
        outage = handler500(request)
    try:
        raise ValueError("a bug")
    except ValueError:
        bug = handler500(request)
    assert outage.status_code == 503 and outage["Retry-After"] == "5"
    assert json.loads(outage.content)["error"]["code"] == "database_unavailable"
    assert bug.status_code == 500 and json.loads(bug.content)["error"]["code"] == "server_error"
