"""Property-based: every operation of /api/schema/, called with generated input and the
caller it is meant for, never answers 5xx and answers what the schema says."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.common.services import api_key_create
from notifications_project.wsgi import application

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def callers(db, event_types, make_user, subscribe):
    """A person with some data (so small ids exist) and an API key with every scope."""
    person = make_user("schema-person")
    subscribe(person, event_types["scenario.created"])
    _, raw_key = api_key_create(name="schema tests")
    token = Token.objects.create(user=person)
    # In-process WSGI calls send request_started/finished, whose handler would close the
    # test's database connection mid-transaction; Django's test client unhooks it likewise.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {"person": f"Token {token.key}", "service": f"Bearer {raw_key}"}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# Loaded from the running application's own /api/schema/ (no database needed for it).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case, callers, settings):
    # The inbox stream ends (and the call returns) after its catch-up and one short wait.
    settings.INBOX_STREAM_MAX_SECONDS = 0.2
    settings.INBOX_STREAM_KEEPALIVE_SECONDS = 0.1
    # A person's operation documents only the person's schemes (token, session); every
    # other operation takes the API key (an open one ignores it).
    schemes = {name for requirement in case.operation.definition.raw.get("security", []) for name in requirement}
    caller = "person" if schemes and "ApiKey" not in schemes else "service"
    case.call_and_validate(headers={"Authorization": callers[caller]}, checks=CHECKS)
