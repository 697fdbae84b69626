"""Each alert condition on the real test database and Redis: it holds when its
threshold is passed, not before, and says what an operator needs."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from celery import shared_task
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from kombu import Queue

from apps.common.redis_clients import redis_client
from apps.delivery.resilience.circuit import provider_circuit
from apps.delivery.tasks import sweep_stuck_deliveries_task
from apps.ops.alerts.conditions import (
    circuit_open,
    conditions_evaluate,
    dead_deliveries,
    pending_age,
    periodic_late,
    queue_age,
)
from apps.ops.broker import redis_queue_oldest_ages
from apps.ops.heartbeats import heartbeat_record
from apps.ops.models import PeriodicHeartbeat
from apps.scheduling.tasks import release_due_task
from apps.subscriptions.policy import DIGEST_HOLD

from .alert_fixtures import clean_circuits, delivery_aged  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@shared_task(name="tests.alerts_probe")
def probe_task():
    return "never run: no worker reads its queue"


def test_dead_deliveries_hold_at_the_threshold_within_the_window(settings, make_user, event_types):
    settings.ALERT_DEAD_DELIVERIES_THRESHOLD = 3
    settings.ALERT_DEAD_DELIVERIES_WINDOW_SECONDS = 600
    user, created = make_user(), event_types["scenario.created"]
    for age in (10, 20):
        delivery_aged(user, created, status="dead", age_seconds=age, last_error="421 Service not available")
    delivery_aged(user, created, status="dead", age_seconds=3600)  # before the window
    delivery_aged(user, created, channel="sms", status="dead", age_seconds=5)  # another channel
    assert dead_deliveries(timezone.now()) == []

    delivery_aged(user, created, status="dead", age_seconds=1, last_error="451 4.3.0 Try again later")
    [finding] = dead_deliveries(timezone.now())
    assert finding.key == "dead_deliveries:email"
    assert finding.title == "3 email deliveries went dead in the last 10 min"
    assert finding.figures["dead in the window"] == "3 (alert at 3 in 10 min)"
    assert finding.figures["its last error"] == "451 4.3.0 Try again later"
    assert (timezone.now() - finding.since).total_seconds() >= 20
    assert finding.links["dead deliveries"] == "/admin/delivery/delivery/?status__exact=dead&channel__exact=email"

    settings.ALERT_DEAD_DELIVERIES_THRESHOLD = 0  # off
    assert dead_deliveries(timezone.now()) == []


def test_an_open_circuit_holds_until_a_success_closes_it(settings, clean_circuits):  # noqa: F811
    assert [f for f in circuit_open(timezone.now()) if f.key == "circuit_open:smtp"] == []
    breaker = provider_circuit("smtp")
    for _ in range(settings.CIRCUIT_FAILURE_THRESHOLD):
        breaker.record_failure()
    [finding] = [f for f in circuit_open(timezone.now()) if f.key == "circuit_open:smtp"]
    assert finding.title == "The circuit breaker of provider smtp is open (email)"
    assert finding.figures["state"].startswith("open")
    assert finding.figures["consecutive failed calls"] == str(settings.CIRCUIT_FAILURE_THRESHOLD)
    assert abs((timezone.now() - finding.since).total_seconds()) < 5
    breaker.record_success()
    assert [f for f in circuit_open(timezone.now()) if f.key == "circuit_open:smtp"] == []


def test_a_queues_oldest_message_is_dated_by_its_published_header(settings):
    """A real task message, published by Celery, carries the time it was published."""
    settings.CELERY_TASK_QUEUES = [*settings.CELERY_TASK_QUEUES, Queue("ops-alerts-probe")]
    settings.ALERT_QUEUE_AGE_SECONDS = 300
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("ops-alerts-probe")
    try:
        probe_task.apply_async(queue="ops-alerts-probe")
        probe_task.apply_async(queue="ops-alerts-probe")
        ages = redis_queue_oldest_ages(broker, ["ops-alerts-probe"], now=time.time() + 600)
        assert 599 <= ages["ops-alerts-probe"] < 620
        assert [f for f in queue_age(timezone.now()) if f.key == "queue_age:ops-alerts-probe"] == []

        later = timezone.now() + timedelta(seconds=400)
        [finding] = [f for f in queue_age(later) if f.key == "queue_age:ops-alerts-probe"]
        assert finding.figures["messages waiting"] == "2"
        assert finding.title.startswith("Queue ops-alerts-probe: its oldest message has waited 6 min")
    finally:
        broker.delete("ops-alerts-probe")


def test_a_message_without_the_header_counts_as_no_age(settings):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("ops-alerts-foreign")
    broker.lpush("ops-alerts-foreign", b"not json", b'{"headers": {}}')
    try:
        assert redis_queue_oldest_ages(broker, ["ops-alerts-foreign", "ops-alerts-none"]) == {
            "ops-alerts-foreign": 0.0,
            "ops-alerts-none": 0.0,
        }
    finally:
        broker.delete("ops-alerts-foreign")


def test_the_oldest_pending_delivery_that_is_due_is_what_counts(settings, make_user, event_types):
    settings.ALERT_PENDING_AGE_SECONDS = 900
    user, created = make_user(), event_types["scenario.created"]
    # Held for a digest for an hour: not waiting, not an alert.
    delivery_aged(user, created, channel="sms", age_seconds=3600, not_before=DIGEST_HOLD)
    delivery_aged(user, created, channel="sms", age_seconds=60)
    assert [f for f in pending_age(timezone.now()) if f.key == "pending_age:sms"] == []

    delivery_aged(user, created, channel="sms", age_seconds=1200)
    [finding] = [f for f in pending_age(timezone.now()) if f.key == "pending_age:sms"]
    assert finding.title == "A sms delivery has been pending for 20 min"
    assert finding.figures["pending and due"] == "2"


def beat_job(every: int, task: str = "delivery.sweep_stuck") -> PeriodicTask:
    PeriodicTask.objects.filter(task=task).delete()
    schedule, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
    return PeriodicTask.objects.create(name=f"Test job {task}", task=task, interval=schedule, queue="maintenance")


def test_a_beat_job_is_late_after_its_intervals_and_the_grace(settings):
    settings.ALERT_PERIODIC_LATE_FACTOR, settings.ALERT_PERIODIC_GRACE_SECONDS = 3, 60
    PeriodicTask.objects.all().delete()
    job = beat_job(every=60)
    now = timezone.now()
    heartbeat_record("delivery.sweep_stuck", at=now - timedelta(seconds=200))
    assert periodic_late(now) == []  # 200 s <= 3 × 60 + 60

    heartbeat_record("delivery.sweep_stuck", at=now - timedelta(seconds=300))
    PeriodicTask.objects.filter(pk=job.pk).update(last_run_at=now - timedelta(seconds=30))
    [finding] = periodic_late(now)
    assert finding.key == "periodic_late:delivery.sweep_stuck"
    assert finding.figures["runs every"] == "1 min" and finding.figures["late after"] == "4 min"
    # Beat still sends it: the workers are what to look at.
    assert finding.checks[0].startswith("Beat sends it")
    assert finding.links["the job"] == f"/admin/django_celery_beat/periodictask/{job.pk}/change/"

    PeriodicTask.objects.filter(pk=job.pk).update(last_run_at=now - timedelta(seconds=3600))
    [finding] = periodic_late(now)
    assert finding.checks[0].startswith("Beat has not sent it lately")


def test_a_beat_job_that_never_succeeded_counts_from_its_creation(settings):
    settings.ALERT_PERIODIC_LATE_FACTOR, settings.ALERT_PERIODIC_GRACE_SECONDS = 3, 60
    PeriodicTask.objects.all().delete()
    PeriodicHeartbeat.objects.all().delete()
    job = beat_job(every=60)
    assert periodic_late(timezone.now()) == []
    PeriodicTask.objects.filter(pk=job.pk).update(date_changed=timezone.now() - timedelta(hours=1))
    [finding] = periodic_late(timezone.now())
    assert finding.figures["last success"] == "never"


def test_a_beat_jobs_success_is_recorded_by_the_worker_signal():
    PeriodicHeartbeat.objects.filter(task="delivery.sweep_stuck").delete()
    before = datetime.now(UTC)
    sweep_stuck_deliveries_task.apply()
    beat = PeriodicHeartbeat.objects.get(task="delivery.sweep_stuck")
    assert beat.last_success_at >= before - timedelta(seconds=1)
    # A task that is not a beat job leaves no heartbeat.
    probe_task.apply()
    assert not PeriodicHeartbeat.objects.filter(task="tests.alerts_probe").exists()


def test_a_run_skipped_for_its_slot_is_no_heartbeat(settings):
    """Two beats: the run that found its slot taken did nothing, and says so."""
    settings.SCHEDULED_RELEASE_INTERVAL_SECONDS = 3600
    locks = redis_client("locks")
    for key in locks.scan_iter("periodic:scheduling.release_due:*"):  # another test's run of this hour
        locks.delete(key)
    PeriodicHeartbeat.objects.filter(task="scheduling.release_due").delete()
    assert release_due_task.apply().result != {"skipped": True}
    first = PeriodicHeartbeat.objects.get(task="scheduling.release_due").last_success_at
    assert release_due_task.apply().result == {"skipped": True}
    assert PeriodicHeartbeat.objects.get(task="scheduling.release_due").last_success_at == first


def test_an_unreadable_source_silences_only_its_condition(settings, make_user, event_types):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.ALERT_DEAD_DELIVERIES_THRESHOLD = 1
    delivery_aged(make_user(), event_types["scenario.created"], status="dead")
    findings, evaluated = conditions_evaluate(timezone.now())
    assert "queue_age" not in evaluated
    assert {"dead_deliveries", "circuit_open", "pending_age", "periodic_late"} <= evaluated
    assert "dead_deliveries:email" in {f.key for f in findings}
