"""docs/alerts.yml: valid Prometheus rules (promtool, when installed), which behave as
docs/alerts.test.yml expects, over metric names that /metrics really exports."""

import re
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import yaml
from celery import shared_task
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from kombu import Queue
from prometheus_client.parser import text_string_to_metric_families

from apps.delivery.resilience.circuit import provider_circuit
from apps.ops.heartbeats import heartbeat_record

from .alert_fixtures import clean_circuits  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs"
RULES, RULE_TESTS = DOCS / "alerts.yml", DOCS / "alerts.test.yml"
METRIC_NAME = re.compile(r"\b(?:notifications|celery)_[a-z_]+\b")
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")


@shared_task(name="tests.alert_rules_probe")
def probe_task():
    return "never run: no worker reads its queue"


def promtool(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, cwd=DOCS)


@needs_promtool
def test_promtool_accepts_the_rules():
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


@needs_promtool
def test_the_rules_fire_and_clear_as_their_unit_tests_expect():
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def scrape(client) -> dict[str, list]:
    """family name → its samples, as Prometheus would read the page."""
    response = client.get("/metrics")
    assert response.status_code == 200
    return {family.name: family.samples for family in text_string_to_metric_families(response.content.decode())}


def rule_metric_names() -> set[str]:
    rules = [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    return {name for rule in rules for name in METRIC_NAME.findall(rule["expr"])}


def test_every_metric_the_rules_use_is_exported(client):
    families = scrape(client)
    exported = set(families) | {f"{name}_total" for name in families}
    used = rule_metric_names()
    assert len(used) == 7
    assert used <= exported, f"not exported: {sorted(used - exported)}"


def test_the_scrape_reports_circuits_queue_ages_and_beat_jobs(client, settings, clean_circuits):  # noqa: F811
    settings.CELERY_TASK_QUEUES = [*settings.CELERY_TASK_QUEUES, Queue("ops-rules-probe")]
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("ops-rules-probe")
    breaker = provider_circuit("twilio")
    for _ in range(settings.CIRCUIT_FAILURE_THRESHOLD):
        breaker.record_failure()
    # A second job of the same task (besides the migrated one, every 60 s): one series.
    schedule, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.update_or_create(
        name="Rules probe", defaults={"task": "delivery.sweep_stuck", "interval": schedule}
    )
    succeeded = timezone.now() - timedelta(minutes=5)
    heartbeat_record("delivery.sweep_stuck", at=succeeded)
    try:
        probe_task.apply_async(queue="ops-rules-probe")
        time.sleep(1.1)
        families = scrape(client)
    finally:
        broker.delete("ops-rules-probe")

    def value(family, **labels):
        [sample] = [s for s in families[family] if s.labels == labels]
        return sample.value

    assert value("notifications_circuit_open", provider="twilio") == 1
    assert value("notifications_circuit_open", provider="smtp") == 0
    assert 1 <= value("celery_queue_oldest_message_seconds", queue="ops-rules-probe") < 30
    assert value("celery_queue_oldest_message_seconds", queue="fanout") == 0
    assert value("notifications_periodic_task_interval_seconds", task="delivery.sweep_stuck") == 30
    stamp = value("notifications_periodic_task_last_success_timestamp_seconds", task="delivery.sweep_stuck")
    assert stamp == pytest.approx(succeeded.timestamp(), abs=0.01)
    assert {s.labels["source"]: s.value for s in families["notifications_scrape_error"]} == {
        "broker": 0,
        "circuits": 0,
        "database": 0,
    }
