"""Correlation ids and metrics through a real worker process on real Redis."""

import json
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from apps.common.channels import Channel
from apps.events.models import Event, FanoutState
from apps.notifications.tasks import fan_out_task

from ..worker import Worker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def log_lines(path):
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # the worker's banner is not a log record
    return lines


def test_request_id_reaches_the_fan_out_task_logs(celery_worker, event_types, make_user, subscribe, client_for):
    reader = make_user("reader")
    subscribe(reader, event_types["scenario.created"])
    request_id = f"req-{uuid.uuid4().hex}"

    response = client_for(make_user("author")).post(
        "/api/v1/scenarios/", {"name": "Traced"}, format="json", HTTP_X_REQUEST_ID=request_id
    )
    assert response.status_code == 201
    event = Event.objects.get()
    assert event.correlation_id == request_id
    wait_until(lambda: Event.objects.get(pk=event.pk).fanout_state == FanoutState.DONE, message="fan-out")

    def fan_out_log():
        return [
            line
            for line in log_lines(celery_worker.log_path)
            if line.get("correlation_id") == request_id and line.get("logger") == "apps.notifications.fanout"
        ]

    lines = wait_until(fan_out_log, message="the fan-out's log line")
    assert lines[0]["message"] == f"event {event.pk} fanned out: 1 new inbox items"
    assert lines[0]["level"] == "INFO"


def samples(text):
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_worker_figures_appear_in_the_web_scrape(tmp_path, settings, client, event_types, make_user, subscribe):
    """The worker writes its counters to the shared multiprocess directory; the web's
    /metrics adds them up."""
    created = event_types["scenario.created"]
    for index in range(3):
        user = make_user(f"watcher{index}")
        subscribe(user, created)
        subscribe(user, created, channel=Channel.EMAIL)
    # Created directly (no on_commit enqueue) and sent to a queue only this worker reads.
    event = Event.objects.create(event_type=created, data={"name": "Metered"})
    metrics_dir = tmp_path / "metrics"
    worker = Worker("metrics", queues="ops-metrics", env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}).start()
    try:
        fan_out_task.apply_async(args=[event.pk], queue="ops-metrics")
        wait_until(lambda: Event.objects.get(pk=event.pk).fanout_state == FanoutState.DONE, message="fan-out")
        settings.PROMETHEUS_MULTIPROC_DIR = str(metrics_dir)

        def scraped():
            found = samples(client.get("/metrics").content.decode())
            key = ("notifications_created_total", (("event_type", "scenario.created"),))
            return found if found.get(key) == 3 else None

        found = wait_until(scraped, timeout=10, message="the worker's counter in the scrape")
    finally:
        worker.stop()
    assert found[("notifications_fanout_chunks_total", (("event_type", "scenario.created"),))] == 1
    assert found[("notifications_event_to_inbox_seconds_count", (("event_type", "scenario.created"),))] == 1
    # Scrape-time gauges are there too: the three pending email deliveries are waiting.
    assert found[("notifications_oldest_pending_delivery_seconds", (("channel", "email"),))] > 0
    assert ("celery_queue_length", (("queue", "fanout"),)) in found
