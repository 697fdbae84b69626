"""The operators' destinations against real servers on 127.0.0.1: an SMTP server, a
Slack Web API stand-in and a webhook receiver that verifies the signature. The one
that shares a failing provider is passed over while another one is set."""

import base64
import json

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from apps.delivery.resilience.circuit import provider_circuit
from apps.ops.alerts.destinations import alert_send, usable_destinations
from apps.ops.alerts.findings import Finding
from apps.ops.alerts.messages import alert_message, finding_details
from apps.ops.models import AlertIncident

from ..http_receiver import Answer, Receiver
from ..integration.chat_providers import SlackApi
from ..sinks import SmtpSink
from .alert_fixtures import clean_circuits  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + base64.b64encode(b"alert-signing-key-of-32-bytes!!!").decode()


@pytest.fixture
def message(db):
    finding = Finding(
        key="queue_age:email",
        title="Queue email: its oldest message has waited 6 min",
        since=timezone.now(),
        figures={"messages waiting": "1200"},
        checks=["Is a worker consuming email?"],
    )
    incident = AlertIncident.objects.create(
        key=finding.key, title=finding.title, details=finding_details(finding), opened_at=timezone.now()
    )
    return alert_message("firing", incident, timezone.now())


@pytest.fixture
def no_destinations(settings):
    settings.ALERT_EMAIL_TO, settings.ALERT_SLACK_CHANNEL, settings.ALERT_WEBHOOK_URL = [], "", ""
    return settings


def test_email_goes_straight_to_its_smtp_server(no_destinations, message):
    sink = SmtpSink().start()
    try:
        no_destinations.ALERT_EMAIL_URL = sink.url
        no_destinations.ALERT_EMAIL_TO = ["oncall@example.com"]
        no_destinations.ALERT_EMAIL_FROM = "alerts@example.com"
        assert alert_send(message) is True
        [mail] = sink.received("oncall@example.com")
    finally:
        sink.stop()
    assert mail["Subject"] == "[notifications] FIRING: Queue email: its oldest message has waited 6 min"
    assert mail["From"] == "alerts@example.com"
    assert "  messages waiting: 1200" in mail.get_content()


def test_slack_gets_the_message_in_the_configured_channel(no_destinations, message):
    slack = SlackApi().start()
    try:
        no_destinations.SLACK_API_BASE_URL = f"{slack.url}/api/"
        no_destinations.ALERT_SLACK_BOT_TOKEN = SlackApi.TOKEN
        no_destinations.ALERT_SLACK_CHANNEL = "C0OPS"
        assert alert_send(message) is True
    finally:
        slack.stop()
    [call] = slack.calls_for("C0OPS", "channel")
    assert call.body["text"].startswith("*[notifications] FIRING: Queue email")
    assert "messages waiting: 1200" in call.body["text"]


def test_the_webhook_is_signed_like_the_webhook_channel(no_destinations, message):
    with Receiver() as receiver:
        no_destinations.ALERT_WEBHOOK_URL = receiver.url("/alerts")
        no_destinations.ALERT_WEBHOOK_SECRET = SECRET
        assert alert_send(message) is True
    [request] = receiver.requests
    payload = Webhook(SECRET).verify(request.body, request.headers)
    assert payload["type"] == "alert.firing" and payload["key"] == "queue_age:email"
    assert payload["figures"] == {"messages waiting": "1200"}
    assert request.headers["webhook-id"].startswith(f"alert_{message.incident_id}_firing_")


def test_the_webhook_url_passes_the_outbound_address_guard(no_destinations, message):
    """127.0.0.1 is a loopback address, refused like a webhook endpoint's would be
    (the tests allow only the name localhost)."""
    with Receiver() as receiver:
        no_destinations.ALERT_WEBHOOK_URL = receiver.url("/alerts", host="127.0.0.1")
        assert alert_send(message) is False
    assert receiver.requests == []


def test_a_failing_destination_does_not_stop_the_others(no_destinations, message):
    with Receiver(Answer(503)) as down, Receiver() as up:
        no_destinations.ALERT_WEBHOOK_URL = down.url("/alerts")
        assert alert_send(message) is False
        no_destinations.ALERT_EMAIL_TO = ["oncall@example.com"]
        no_destinations.ALERT_EMAIL_URL = "smtp://127.0.0.1:1"  # refused
        no_destinations.ALERT_WEBHOOK_URL = up.url("/alerts")
        assert alert_send(message) is True
    assert len(down.requests) == 1 and len(up.requests) == 1


def test_email_on_the_failing_smtp_server_is_passed_over_for_another(
    no_destinations,
    message,
    clean_circuits,  # noqa: F811
):
    no_destinations.ALERT_EMAIL_TO = ["oncall@example.com"]
    no_destinations.ALERT_EMAIL_URL = ""  # EMAIL_URL's server: the smtp provider's
    breaker = provider_circuit("smtp")
    for _ in range(no_destinations.CIRCUIT_FAILURE_THRESHOLD):
        breaker.record_failure()
    # The only destination: tried all the same.
    assert [d.name for d in usable_destinations()] == ["email"]
    with Receiver() as receiver:
        no_destinations.ALERT_WEBHOOK_URL = receiver.url("/alerts")
        assert [d.name for d in usable_destinations()] == ["webhook"]
        # A separate alert server does not share the provider.
        no_destinations.ALERT_EMAIL_URL = "smtp://alerts-relay.example.com:25"
        assert [d.name for d in usable_destinations()] == ["email", "webhook"]
    breaker.record_success()
    no_destinations.ALERT_EMAIL_URL = ""
    assert [d.name for d in usable_destinations()] == ["email", "webhook"]


def test_with_no_destination_the_alert_is_logged(no_destinations, message, caplog):
    assert alert_send(message) is True
    [record] = [r for r in caplog.records if r.name == "apps.ops.alerts.destinations"]
    assert record.getMessage() == f"alert firing: {message.subject}"
    assert json.loads(json.dumps(record.alert))["key"] == "queue_age:email"
