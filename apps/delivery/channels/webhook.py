"""Webhooks signed per the Standard Webhooks spec.

Each POST carries `webhook-id` (the delivery's id: the same on every retry, so
receivers drop duplicates), `webhook-timestamp` (Unix seconds) and `webhook-signature`:
`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the base64-decoded
part of the `whsec_` secret. While a rotated-out secret is in its grace period both
signatures are sent, space-separated, and a receiver holding either one verifies.
"""

import base64
import hashlib
import hmac
import json
import time

import requests

from apps.accounts.selectors import webhook_endpoint_secrets, webhook_endpoints_for_delivery
from apps.common.links import link_or_empty
from apps.common.net import GuardedClient, UnsafeURL

from ..rendering import delivery_title_body
from .base import Message, Outcome, Report, SendResult, no_report
from .registry import register
from .targets import (
    HttpTargetsChannel,
    TargetResult,
    pending_targets,
    request_error_result,
    response_result,
    send_to_targets,
)

USER_AGENT = "notification-service-webhooks/1"


def webhook_sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_message_id(delivery_id: int) -> str:
    return f"dlv_{delivery_id}"


def _payload(delivery, title: str, body: str) -> bytes:
    notification = delivery.notification
    event = notification.event
    body = {
        "type": event.event_type.key,
        "timestamp": event.created_at.isoformat(),
        "data": {
            "delivery_id": delivery.pk,
            "notification_id": notification.pk,
            "event_id": event.pk,
            "recipient": {"id": notification.user_id, "username": notification.user.get_username()},
            "subject": {"type": event.subject_type, "id": event.subject_id} if event.subject_type else None,
            "title": title,
            "body": body,
            "url": link_or_empty(notification.url),
            "data": notification.effective_data,
        },
    }
    return json.dumps(body, default=str, separators=(",", ":"), sort_keys=True).encode()


class WebhookChannel(HttpTargetsChannel):
    key = "webhook"
    batch_size = 50

    def render(self, delivery) -> Message | None:
        notification = delivery.notification
        endpoints = webhook_endpoints_for_delivery(
            user_id=notification.user_id, event_type_id=notification.event.event_type_id
        )
        if not endpoints:
            return None
        targets, already_delivered = pending_targets(
            delivery_id=delivery.pk,
            kind="webhook",
            items=endpoints,
            describe=lambda e: {"url": e.url, "secrets": webhook_endpoint_secrets(endpoint=e)},
        )
        title, body = delivery_title_body(delivery)
        return Message(
            delivery_id=delivery.pk,
            user_id=notification.user_id,
            to=", ".join(endpoint.url for endpoint in endpoints),
            subject=title,
            text=body,
            url=notification.url,
            extra={
                "body": _payload(delivery, title, body),
                "endpoints": targets,
                "already_delivered": already_delivered,
            },
        )

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        client = GuardedClient()
        try:
            _, results = send_to_targets(messages, "endpoints", lambda m, e: self._post(client, m, e), report)
        finally:
            client.close()
        return results

    def _post(self, client: GuardedClient, message: Message, endpoint: dict) -> TargetResult:
        target, body = endpoint["key"], message.extra["body"]
        msg_id, timestamp = webhook_message_id(message.delivery_id), int(time.time())
        try:
            signature = " ".join(
                webhook_sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
                for secret in endpoint["secrets"]
            )
        except ValueError as exc:  # a stored secret that is not base64 (binascii.Error)
            return TargetResult(target, Outcome.PERMANENT, error=f"bad signing secret: {exc}")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
        }
        detail = {"url": endpoint["url"]}
        try:
            response = client.post(endpoint["url"], data=body, headers=headers)
        except (UnsafeURL, OSError, requests.RequestException) as exc:
            return request_error_result(target, exc, detail)
        error = ""
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location", "")
            error = f"answered {response.status_code} redirecting to {location or '(no Location)'}; not followed"
            detail["location"] = location
        return response_result(target, response, detail=detail, error=error, message_id=msg_id)


register(WebhookChannel())
