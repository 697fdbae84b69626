import json
import logging
import re

import pytest

from apps.events.models import Event
from apps.ops.correlation import correlation_id_reset, correlation_id_set
from apps.ops.logs import CorrelationIdFilter, ServiceJsonFormatter

pytestmark = pytest.mark.django_db


def test_request_id_is_echoed_and_stamped_on_the_event(client_for, make_user, event_types):
    client = client_for(make_user("author"))
    response = client.post("/api/v1/scenarios/", {"name": "Traced"}, format="json", HTTP_X_REQUEST_ID="req-42.a")
    assert response.status_code == 201
    assert response["X-Request-ID"] == "req-42.a"
    assert Event.objects.get().correlation_id == "req-42.a"


@pytest.mark.parametrize("sent", [None, "", "has spaces", "x" * 101, "new\nline"])
def test_missing_or_unsafe_request_id_gets_a_new_one(client, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    response = client.get("/health/", **headers)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_event_published_outside_a_request_has_no_correlation_id(event_types):
    from apps.notifications.publish import event_publish

    event, _ = event_publish(event_type="scenario.created", data={})
    assert event.correlation_id is None


def test_json_log_line_carries_the_correlation_id():
    record = logging.LogRecord("apps.test", logging.WARNING, __file__, 1, "sent %d", (3,), None)
    token = correlation_id_set("abc-123")
    try:
        CorrelationIdFilter().filter(record)
    finally:
        correlation_id_reset(token)
    line = json.loads(ServiceJsonFormatter().format(record))
    assert line["message"] == "sent 3"
    assert line["level"] == "WARNING"
    assert line["logger"] == "apps.test"
    assert line["correlation_id"] == "abc-123"
    assert "time" in line


def test_admin_shows_the_correlation_id_on_events_and_deliveries(client, make_user, event_types):
    from django.utils import timezone

    from apps.delivery.models import Delivery
    from apps.notifications.models import UserNotification

    admin = make_user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])
    client.force_login(admin)
    event = Event.objects.create(event_type=event_types["scenario.created"], data={}, correlation_id="req-admin-1")
    item = UserNotification.objects.create(event=event, user=admin, title="t", created_at=timezone.now())
    delivery = Delivery.objects.create(
        notification=item, channel="email", created_at=timezone.now(), updated_at=timezone.now()
    )

    assert "req-admin-1" in client.get(f"/admin/events/event/{event.pk}/change/").content.decode()
    assert "req-admin-1" in client.get(f"/admin/delivery/delivery/{delivery.pk}/change/").content.decode()
    found = client.get("/admin/delivery/delivery/?q=req-admin-1").content.decode()
    assert f"/admin/delivery/delivery/{delivery.pk}/change/" in found
    assert client.get("/admin/delivery/delivery/add/").status_code == 200
