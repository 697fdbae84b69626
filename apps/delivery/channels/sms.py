"""The `sms` channel: Twilio's Messages API through the twilio SDK.

Every message asks Twilio to report its fate to PUBLIC_BASE_URL +
/api/v1/webhooks/twilio/status/ (see callbacks.py). TWILIO_API_BASE_URL points the SDK at
another host (tests, a regional proxy) through a custom HTTP client, the way Twilio
documents for redirecting its SDK.
"""

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from apps.accounts.validators import validate_e164
from apps.common.links import link_or_empty

from ..rendering import stored_template_render
from .base import Message, Outcome, Report, SendResult, no_report
from .email_sendgrid import classify_http_status, retry_after_seconds
from .registry import register

TWILIO_API = "https://api.twilio.com"
SMS_MAX_CHARS = 1600  # Twilio refuses longer bodies


class RebasedHttpClient(TwilioHttpClient):
    """Sends what the SDK addresses to api.twilio.com to another base URL, and keeps
    the last response's headers (for Retry-After)."""

    def __init__(self, base_url: str = "", **kwargs):
        super().__init__(pool_connections=True, timeout=settings.PROVIDER_HTTP_TIMEOUT_SECONDS, **kwargs)
        self.base_url = base_url.rstrip("/")
        self.last_headers: dict = {}

    def request(self, method, url, *args, **kwargs):
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        self.last_headers = {}
        response = super().request(method, url, *args, **kwargs)
        self.last_headers = dict(response.headers or {})
        return response


def e164_or_none(value: str) -> str | None:
    try:
        validate_e164(value)
    except ValidationError:
        return None
    return value or None


def status_callback_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("webhook-twilio-status")


class TwilioProvider:
    name = "twilio"
    batch_size = 100

    def __init__(self):
        self.http = RebasedHttpClient(settings.TWILIO_API_BASE_URL)
        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=self.http)

    def classify(self, exc: Exception) -> Outcome:
        if isinstance(exc, TwilioRestException):
            return classify_http_status(exc.status)
        return Outcome.TRANSIENT  # timeouts, refused or dropped connections

    def _send_one(self, message: Message, callback: str) -> SendResult:
        try:
            sent = self.client.messages.create(
                to=message.to, from_=settings.TWILIO_FROM_NUMBER, body=message.text, status_callback=callback
            )
        except TwilioRestException as exc:
            detail = {"status_code": exc.status, "twilio_code": exc.code, "body": str(exc.msg)[:1000]}
            wait = retry_after_seconds(self.http.last_headers) if exc.status == 429 or exc.status >= 500 else None
            return SendResult(
                message.delivery_id,
                self.classify(exc),
                error=f"Twilio answered {exc.status}",
                detail=detail,
                retry_after=wait,
            )
        except (requests.RequestException, OSError) as exc:
            return SendResult(message.delivery_id, Outcome.TRANSIENT, error=f"{exc.__class__.__name__}: {exc}")
        detail = {"status_code": 201, "sid": sent.sid, "status": str(sent.status)}
        return SendResult(message.delivery_id, Outcome.SENT, sent.sid, detail=detail)

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        """One request per message, each answer recorded before the next request.
        Once Twilio answers like a failing service (5xx, 429, no answer), the rest of
        the batch is deferred untried: an outage costs one request (and one attempt)
        per batch rather than one per recipient, and the circuit breaker counts the
        batch as one failure."""
        callback = status_callback_url()
        results = []
        for index, message in enumerate(messages):
            result = self._send_one(message, callback)
            results.append(result)
            report(result)
            if result.outcome == Outcome.TRANSIENT:
                detail = {"reason": "provider_failing", "provider": self.name}
                results.extend(
                    SendResult(m.delivery_id, Outcome.DEFERRED, detail=dict(detail), retry_after=result.retry_after)
                    for m in messages[index + 1 :]
                )
                break
        return results


class SmsChannel:
    key = "sms"
    batch_size = 100

    def __init__(self):
        self._provider = None

    def render(self, delivery) -> Message | None:
        notification = delivery.notification
        if notification.user_id is None:  # a send to a number that is no user
            number = e164_or_none(notification.address)
        else:
            profile = getattr(notification.user, "profile", None)
            number = e164_or_none(profile.phone if profile else "")
        if number is None:
            return None
        stored = stored_template_render(delivery)
        if stored:
            subject, text = stored.subject, stored.text
        else:
            subject = notification.title
            text = "\n".join(
                part for part in (notification.title, notification.body, link_or_empty(notification.url)) if part
            )
        return Message(
            delivery_id=delivery.pk,
            user_id=notification.user_id,
            to=number,
            subject=subject,
            text=text[:SMS_MAX_CHARS],
            url=notification.url,
        )

    def providers(self) -> list:
        # One client per process: it keeps its HTTP connections open between batches.
        if self._provider is None:
            self._provider = TwilioProvider()
        return [self._provider]

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        return self.providers()[0].send_batch(messages, report)

    def classify(self, exc: Exception) -> Outcome:
        return self.providers()[0].classify(exc)


register(SmsChannel())
