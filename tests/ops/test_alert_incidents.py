"""Incidents: announced once when a condition first holds, once when it clears, with
the cool-down, the reminders and the retries of a failed message; read from the rows
in the test database, so the same holds across restarts."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.common.redis_clients import redis_client
from apps.ops.alerts.findings import Finding
from apps.ops.alerts.incidents import incidents_advance
from apps.ops.alerts.messages import alert_message
from apps.ops.models import AlertIncident

from .alert_fixtures import delivery_aged

pytestmark = pytest.mark.django_db

ALL = {"circuit_open", "queue_age", "dead_deliveries", "pending_age", "periodic_late"}


class Recorder:
    """Takes messages as a destination would; `refuse` makes it fail like one that is down."""

    def __init__(self):
        self.messages = []
        self.refuse = False

    def __call__(self, message) -> bool:
        if self.refuse:
            return False
        self.messages.append(message)
        return True

    def kinds(self):
        return [(m.kind, m.key) for m in self.messages]


def smtp_open(failures=5, since=None):
    return Finding(
        key="circuit_open:smtp",
        title="The circuit breaker of provider smtp is open (email)",
        since=since or timezone.now() - timedelta(minutes=2),
        figures={"consecutive failed calls": str(failures)},
        checks=["Is smtp up?"],
        links={"delivery dashboard": "/admin/dashboard/deliverydashboard/"},
    )


@pytest.fixture
def cooldown(settings):
    settings.ALERT_COOLDOWN_SECONDS = 900
    settings.ALERT_REMINDER_SECONDS = 0
    return settings


def test_one_firing_while_it_holds_and_one_resolved_when_it_clears(cooldown):
    send, now = Recorder(), timezone.now()
    for minute in range(5):  # evaluated every minute; the figures change, the incident does not
        incidents_advance([smtp_open(failures=5 + minute)], ALL, now + timedelta(minutes=minute), send)
    assert send.kinds() == [("firing", "circuit_open:smtp")]
    incident = AlertIncident.objects.get()
    assert incident.details["figures"] == {"consecutive failed calls": "9"} and incident.resolved_at is None

    for minute in range(5, 8):
        incidents_advance([], ALL, now + timedelta(minutes=minute), send)
    assert send.kinds() == [("firing", "circuit_open:smtp"), ("resolved", "circuit_open:smtp")]
    incident.refresh_from_db()
    assert incident.resolved_at == now + timedelta(minutes=5)


def test_a_condition_back_within_the_cool_down_waits_for_it(cooldown):
    send, now = Recorder(), timezone.now()
    incidents_advance([smtp_open()], ALL, now, send)
    incidents_advance([], ALL, now + timedelta(minutes=1), send)
    # Back two minutes later: a new incident, quiet for now.
    outcome = incidents_advance([smtp_open()], ALL, now + timedelta(minutes=2), send)
    assert outcome.held == ["circuit_open:smtp"] and len(send.messages) == 2
    # Cleared again before the cool-down passed: nobody hears of it.
    incidents_advance([], ALL, now + timedelta(minutes=3), send)
    assert len(send.messages) == 2
    # Back again and still there once the cool-down since the last message has passed.
    incidents_advance([smtp_open()], ALL, now + timedelta(minutes=10), send)
    assert len(send.messages) == 2
    incidents_advance([smtp_open()], ALL, now + timedelta(minutes=17), send)
    assert [m.kind for m in send.messages] == ["firing", "resolved", "firing"]
    assert AlertIncident.objects.count() == 3
    assert AlertIncident.objects.filter(resolved_at__isnull=True).count() == 1


def test_reminders_while_an_incident_stays_open(cooldown):
    cooldown.ALERT_REMINDER_SECONDS = 3600
    send, now = Recorder(), timezone.now()
    for minute in range(0, 150, 10):
        incidents_advance([smtp_open()], ALL, now + timedelta(minutes=minute), send)
    assert [m.kind for m in send.messages] == ["firing", "reminder", "reminder"]


def test_a_message_no_destination_took_goes_out_at_the_next_evaluation(cooldown):
    send, now = Recorder(), timezone.now()
    send.refuse = True
    outcome = incidents_advance([smtp_open()], ALL, now, send)
    assert outcome.failed == ["firing:circuit_open:smtp"] and send.messages == []
    send.refuse = False
    incidents_advance([smtp_open()], ALL, now + timedelta(minutes=1), send)
    incidents_advance([smtp_open()], ALL, now + timedelta(minutes=2), send)
    assert send.kinds() == [("firing", "circuit_open:smtp")]
    # The resolved message too: the incident stays open until one is taken.
    send.refuse = True
    incidents_advance([], ALL, now + timedelta(minutes=3), send)
    assert AlertIncident.objects.get().resolved_at is None
    send.refuse = False
    incidents_advance([], ALL, now + timedelta(minutes=4), send)
    assert [m.kind for m in send.messages] == ["firing", "resolved"]
    assert AlertIncident.objects.get().resolved_at == now + timedelta(minutes=4)


def test_a_condition_that_could_not_be_read_resolves_nothing(cooldown):
    send, now = Recorder(), timezone.now()
    incidents_advance([smtp_open()], ALL, now, send)
    incidents_advance([], ALL - {"circuit_open"}, now + timedelta(minutes=1), send)
    assert AlertIncident.objects.get().resolved_at is None and len(send.messages) == 1


def test_the_message_reads_well_for_an_operator(settings, cooldown):
    settings.PUBLIC_BASE_URL = "https://notify.example.com"
    send, now = Recorder(), timezone.now()
    since = now - timedelta(minutes=4, seconds=10)
    incidents_advance([smtp_open(since=since)], ALL, now, send)
    [firing] = send.messages
    incident = AlertIncident.objects.get()
    assert firing.subject == "[notifications] FIRING: The circuit breaker of provider smtp is open (email)"
    lines = firing.text.splitlines()
    assert lines[0] == "FIRING: The circuit breaker of provider smtp is open (email)"
    assert lines[1] == f"Since {since:%Y-%m-%d %H:%M:%S} UTC (4 min 10 s ago)."
    assert "  consecutive failed calls: 5" in lines
    assert "  - Is smtp up?" in lines
    assert "  delivery dashboard: https://notify.example.com/admin/dashboard/deliverydashboard/" in lines
    assert f"  this incident: https://notify.example.com/admin/ops/alertincident/{incident.pk}/change/" in lines
    assert firing.payload["type"] == "alert.firing" and firing.payload["key"] == "circuit_open:smtp"

    resolved = alert_message("resolved", incident, now + timedelta(minutes=6))
    assert resolved.text.splitlines()[1] == (
        f"Cleared at {now + timedelta(minutes=6):%Y-%m-%d %H:%M:%S} UTC; it had held since"
        f" {since:%Y-%m-%d %H:%M:%S} UTC (10 min 10 s)."
    )
    assert "What to check:" not in resolved.text and "Last figures while it held:" in resolved.text


def test_the_command_evaluates_in_its_own_process_once_per_slot(settings, cooldown, make_user, event_types):
    """For a timer beside beat: it needs neither beat nor a worker."""
    settings.ALERT_DEAD_DELIVERIES_THRESHOLD = 1
    settings.ALERT_EVALUATE_INTERVAL_SECONDS = 3600
    locks = redis_client("locks")
    for key in locks.scan_iter("periodic:ops.alerts_evaluate:*"):
        locks.delete(key)
    settings.ALERT_EMAIL_TO, settings.ALERT_SLACK_CHANNEL, settings.ALERT_WEBHOOK_URL = [], "", ""
    delivery_aged(make_user(), event_types["scenario.created"], channel="webhook", status="dead")
    out = StringIO()
    call_command("alerts_evaluate", stdout=out)
    result = json.loads(out.getvalue())
    assert "dead_deliveries:webhook" in result["holding"]
    assert "firing:dead_deliveries:webhook" in result["sent"]
    again = StringIO()
    call_command("alerts_evaluate", stdout=again)
    assert json.loads(again.getvalue()) == {"skipped": True}
