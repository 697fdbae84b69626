"""The operators' destinations, each reached directly from the process that evaluates
the alerts: SMTP through Django's mail backend, Slack's Web API through slack-sdk, a
webhook through the outbound address guard, signed like the webhook channel's. None of
them goes through the delivery queues, so an alert about a failing channel never waits
behind that channel's work, nor fails with its provider unless it shares it (then it
is skipped while that provider's circuit is open, if another destination is set)."""

import json
import logging
import time

import environ
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from slack_sdk import WebClient

from apps.common.net import GuardedClient
from apps.delivery.channels.webhook import webhook_sign
from apps.delivery.resilience.circuit import CLOSED, provider_circuit

from .messages import AlertMessage

logger = logging.getLogger(__name__)

USER_AGENT = "notification-service-alerts/1"


class EmailDestination:
    name = "email"

    def __init__(self):
        if settings.ALERT_EMAIL_URL:
            config = environ.Env.email_url_config(settings.ALERT_EMAIL_URL)
        else:
            config = {
                key: getattr(settings, key)
                for key in ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD")
            }
            config.update(EMAIL_USE_TLS=settings.EMAIL_USE_TLS, EMAIL_USE_SSL=settings.EMAIL_USE_SSL)
        self.config = config

    @property
    def shared_provider(self) -> str | None:
        """The delivery provider this destination depends on: `smtp` when alert email
        goes to the server the email channel sends through."""
        same = (self.config.get("EMAIL_HOST"), self.config.get("EMAIL_PORT")) == (
            settings.EMAIL_HOST,
            settings.EMAIL_PORT,
        )
        return "smtp" if same else None

    def send(self, message: AlertMessage) -> None:
        connection = get_connection(
            backend=self.config["EMAIL_BACKEND"],
            host=self.config.get("EMAIL_HOST"),
            port=self.config.get("EMAIL_PORT"),
            username=self.config.get("EMAIL_HOST_USER") or None,
            password=self.config.get("EMAIL_HOST_PASSWORD") or None,
            use_tls=bool(self.config.get("EMAIL_USE_TLS")),
            use_ssl=bool(self.config.get("EMAIL_USE_SSL")),
            timeout=settings.ALERT_SEND_TIMEOUT_SECONDS,
        )
        sender = settings.ALERT_EMAIL_FROM or settings.DEFAULT_FROM_EMAIL
        EmailMessage(message.subject, message.text, sender, settings.ALERT_EMAIL_TO, connection=connection).send()


class SlackDestination:
    name = "slack"

    def __init__(self):
        self.token = settings.ALERT_SLACK_BOT_TOKEN or settings.SLACK_BOT_TOKEN

    @property
    def shared_provider(self) -> str | None:
        return "slack"  # the same Web API the slack channel calls

    def send(self, message: AlertMessage) -> None:
        client = WebClient(
            token=self.token,
            base_url=settings.SLACK_API_BASE_URL,
            timeout=max(1, round(settings.ALERT_SEND_TIMEOUT_SECONDS)),
            retry_handlers=[],
        )
        # Preformatted, so the figures stay aligned; Slack raises SlackApiError on a refusal.
        client.chat_postMessage(
            channel=settings.ALERT_SLACK_CHANNEL,
            text=f"*{message.subject}*\n```{message.text}```",
            unfurl_links=False,
        )


class WebhookDestination:
    name = "webhook"
    shared_provider = None

    def send(self, message: AlertMessage) -> None:
        body = json.dumps(message.payload).encode()
        timestamp = int(time.time())
        msg_id = f"alert_{message.incident_id}_{message.kind}_{timestamp}"
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
        }
        if settings.ALERT_WEBHOOK_SECRET:
            headers["webhook-signature"] = webhook_sign(
                secret=settings.ALERT_WEBHOOK_SECRET, msg_id=msg_id, timestamp=timestamp, body=body
            )
        timeout = settings.ALERT_SEND_TIMEOUT_SECONDS
        client = GuardedClient(timeouts=(timeout, timeout))
        try:
            response = client.post(settings.ALERT_WEBHOOK_URL, data=body, headers=headers)
        finally:
            client.close()
        if not 200 <= response.status_code < 300:
            raise OSError(f"the alert webhook answered {response.status_code}")


def configured_destinations() -> list:
    destinations = []
    if settings.ALERT_EMAIL_TO:
        destinations.append(EmailDestination())
    if settings.ALERT_SLACK_CHANNEL:
        destinations.append(SlackDestination())
    if settings.ALERT_WEBHOOK_URL:
        destinations.append(WebhookDestination())
    return destinations


def _provider_failing(provider: str) -> bool:
    try:
        return provider_circuit(provider).state() != CLOSED
    except Exception:  # Redis unreadable: try the destination anyway
        logger.warning("alerts: circuit of %s unreadable", provider, exc_info=True)
        return False


def usable_destinations() -> list:
    """The configured destinations, without those whose shared provider is failing
    when any other one is left: an alert about the smtp provider goes elsewhere."""
    destinations = configured_destinations()
    healthy = [d for d in destinations if not (d.shared_provider and _provider_failing(d.shared_provider))]
    return healthy or destinations


def alert_send(message: AlertMessage) -> bool:
    """Logged always; True when at least one destination took it (or none is set, so
    the log is where alerts go). False: every destination failed, try again later."""
    logger.warning("alert %s: %s", message.kind, message.subject, extra={"alert": message.payload})
    destinations = usable_destinations()
    if not destinations:
        return True
    sent = False
    for destination in destinations:
        try:
            destination.send(message)
        except Exception:  # one failing destination must not stop the others
            logger.exception(
                "alert %s of incident %s not sent to %s", message.kind, message.incident_id, destination.name
            )
            continue
        sent = True
    return sent
