"""A subscriber fan-out travels at its event type's default priority: the fan-out task,
each chunk's dispatch batches and the release of held deliveries go on the queues of
that priority (read back from the test Redis). The default is set through the API."""

import base64
import json
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from apps.common.channels import Channel
from apps.delivery.models import Delivery
from apps.events.models import EventType
from apps.notifications.publish import event_publish
from apps.notifications.tasks import fan_out_task
from apps.scheduling.release import deliveries_release_due

pytestmark = pytest.mark.django_db

QUEUES = ("fanout", "fanout.high", "log", "log.high")


@pytest.fixture
def queued():
    """{queue: [task args]} of the messages on the queues above, which start empty."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(*QUEUES)

    def read(name: str) -> list[list]:
        return [json.loads(base64.b64decode(json.loads(raw)["body"]))[0] for raw in client.lrange(name, 0, -1)]

    yield read
    client.delete(*QUEUES)


def test_a_publish_goes_at_its_types_priority_end_to_end(
    make_user, subscribe, queued, django_capture_on_commit_callbacks
):
    alerts = EventType.objects.create(key="alerts.raised", name="Alert raised", default_priority="high")
    people = [make_user() for _ in range(3)]
    for person in people:
        subscribe(person, alerts, Channel.LOG)

    with django_capture_on_commit_callbacks(execute=True):
        event, _ = event_publish(event_type=alerts, data={"title": "Disk full"})
    assert event.priority == "high"
    assert queued("fanout.high") == [[event.pk]] and queued("fanout") == []

    fan_out_task.apply(args=[event.pk]).get()  # the task's body: hands the chunk to dispatch
    ids = sorted(Delivery.objects.filter(notification__event=event).values_list("pk", flat=True))
    assert [(channel, sorted(batch), priority) for channel, batch, priority in queued("log.high")] == [
        ("log", ids, "high")
    ]
    assert queued("log") == []

    # Held (quiet hours) and released later: still at the send's priority.
    at = timezone.now() + timedelta(hours=1)
    Delivery.objects.filter(pk__in=ids).update(not_before=at)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_release_due(now=at) == 3
    assert [sorted(args[1]) for args in queued("log.high")] == [ids, ids]
    assert queued("log") == []


def test_event_types_default_priority_through_the_api(api_key_client):
    client = api_key_client(["templates:write"])
    critical = client.post(
        "/api/v1/event-types/", {"key": "pager.fired", "name": "Pager", "critical": True}, format="json"
    )
    assert critical.status_code == 201 and critical.json()["default_priority"] == "critical"
    plain = client.post("/api/v1/event-types/", {"key": "news.out", "name": "News"}, format="json")
    assert plain.json()["default_priority"] == "normal"
    chosen = client.post(
        "/api/v1/event-types/", {"key": "digest.low", "name": "Low", "default_priority": "low"}, format="json"
    )
    assert chosen.json()["default_priority"] == "low"

    patched = client.patch("/api/v1/event-types/news.out/", {"default_priority": "high"}, format="json")
    assert patched.status_code == 200 and patched.json()["default_priority"] == "high"
    assert EventType.objects.get(key="news.out").default_priority == "high"

    refused = client.patch("/api/v1/event-types/news.out/", {"default_priority": "urgent"}, format="json")
    assert refused.status_code == 400 and "default_priority" in refused.json()["error"]["details"]
    assert EventType.objects.get(key="news.out").default_priority == "high"
