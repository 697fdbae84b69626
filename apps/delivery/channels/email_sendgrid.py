"""SendGrid's v3 Mail Send API through the sendgrid SDK.

One request carries up to 1000 personalizations that share a body: recipients of one
event share the rendered content, and each personalization substitutes its own
unsubscribe link (and tracked links) and carries its delivery id as a custom arg, which SendGrid echoes in
every event-webhook record (its sg_message_id only starts with the X-Message-Id).
"""

import json
from http.client import HTTPException

from django.conf import settings
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from .base import Message, Outcome, Report, SendResult, no_report
from .email_content import message_substitutions

MAX_PERSONALIZATIONS = 1000


def sendgrid_configured() -> bool:
    return bool(settings.SENDGRID_API_KEY)


def retry_after_seconds(headers) -> float | None:
    """A Retry-After given in seconds (the form these providers use)."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _body_text(body) -> str:
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    return (body or "")[:1000]


def classify_http_status(status: int) -> Outcome:
    if status == 429 or status >= 500:
        return Outcome.TRANSIENT
    return Outcome.PERMANENT


class SendGridProvider:
    name = "sendgrid"
    batch_size = MAX_PERSONALIZATIONS

    def __init__(self):
        self.client = SendGridAPIClient(api_key=settings.SENDGRID_API_KEY, host=settings.SENDGRID_API_HOST)
        self.client.client.timeout = settings.PROVIDER_HTTP_TIMEOUT_SECONDS

    def classify(self, exc: Exception) -> Outcome:
        if isinstance(exc, HTTPError):
            return classify_http_status(exc.status_code)
        return Outcome.TRANSIENT  # URLError, timeouts, refused connections

    def _request_body(self, template: tuple[str, str, str], messages: list[Message]) -> dict:
        subject, text, html = template
        content = [{"type": "text/plain", "value": text}]
        if html:
            content.append({"type": "text/html", "value": html})
        return {
            "from": {"email": settings.DEFAULT_FROM_EMAIL},
            "subject": subject,
            "content": content,
            "personalizations": [
                {
                    "to": [{"email": m.to}],
                    "headers": m.headers,
                    "substitutions": message_substitutions(m),
                    "custom_args": {"delivery_id": str(m.delivery_id)},
                }
                for m in messages
            ],
        }

    def _send_group(self, template, messages: list[Message]) -> list[SendResult]:
        try:
            response = self.client.send(self._request_body(template, messages))
        except HTTPError as exc:
            outcome = self.classify(exc)
            detail = {"status_code": exc.status_code, "body": _body_text(exc.body)}
            error = f"SendGrid answered {exc.status_code}"
            wait = retry_after_seconds(exc.headers)
            return [
                SendResult(m.delivery_id, outcome, error=error, detail=dict(detail), retry_after=wait) for m in messages
            ]
        except (OSError, HTTPException) as exc:  # URLError, timeouts, refused or dropped connections
            error = f"{exc.__class__.__name__}: {exc}"
            return [SendResult(m.delivery_id, Outcome.TRANSIENT, error=error) for m in messages]
        message_id = response.headers.get("X-Message-Id", "")
        detail = {"status_code": response.status_code, "x_message_id": message_id, "body": _body_text(response.body)}
        return [SendResult(m.delivery_id, Outcome.SENT, message_id, detail=dict(detail)) for m in messages]

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        """One request per content (up to 1000 personalizations), each request's
        answers recorded before the next request: a crash resends one request at most,
        and each of its messages carries its delivery id (custom_args) to dedupe on."""
        groups: dict[str, tuple[tuple, list[Message]]] = {}
        for message in messages:
            template = message.extra.get("template") or (message.subject, message.text, message.html)
            key = json.dumps(template)
            groups.setdefault(key, (template, []))[1].append(message)
        results = []
        for template, group in groups.values():
            for start in range(0, len(group), MAX_PERSONALIZATIONS):
                answers = self._send_group(template, group[start : start + MAX_PERSONALIZATIONS])
                results.extend(answers)
                report(*answers)
        return results
