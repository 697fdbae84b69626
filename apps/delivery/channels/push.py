"""Web Push (RFC 8030) with VAPID (RFC 8292) through pywebpush: payloads encrypted
as aes128gcm (RFC 8291) to each of the person's browser subscriptions.

The push endpoint is a URL the browser gave, so requests go through the same guarded,
address-pinned client as webhooks. A 404/410 means the browser dropped the
subscription: it is deleted and counts as a permanent failure for that target.
"""

import json
from functools import lru_cache

import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid, b64urlencode
from pywebpush import WebPushException, webpush

from apps.accounts.selectors import push_subscription_list
from apps.accounts.services import push_subscriptions_expire
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

# Push services refuse records over 4096 bytes; aes128gcm takes 86 + padding of them.
MAX_PAYLOAD_BYTES = 3000
GONE = (404, 410)


def vapid_keys_generate() -> tuple[str, str]:
    """A new VAPID key pair as (public, private): base64url of the uncompressed P-256
    point (the browser's applicationServerKey) and of the raw 32-byte private value."""
    vapid = Vapid()
    vapid.generate_keys()
    public = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    private = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    return b64urlencode(public), b64urlencode(private)


@lru_cache(maxsize=2)
def vapid_signer(private_key: str) -> Vapid:
    if not private_key:
        raise ImproperlyConfigured("VAPID_PRIVATE_KEY is not set: web push cannot sign.")
    return Vapid.from_string(private_key=private_key)


def push_message_id(delivery_id: int) -> str:
    """The payload's `id`: the delivery's, the same on every resend, so the service
    worker can drop a second copy (the `tag` also replaces a shown notification)."""
    return f"dlv_{delivery_id}"


def _payload(delivery, title: str, body: str) -> bytes:
    """The JSON the service worker's `push` event reads; the data goes first when the
    whole would not fit, then the body is shortened."""
    notification = delivery.notification
    content = {
        "id": push_message_id(delivery.pk),
        "title": title,
        "body": body,
        "url": link_or_empty(notification.url),
        "tag": f"notification-{notification.pk}",
        "notification_id": notification.pk,
        "event_type": notification.event.event_type.key,
        "data": notification.effective_data,
    }

    def encode():
        return json.dumps(content, default=str, separators=(",", ":")).encode()

    payload = encode()
    if len(payload) > MAX_PAYLOAD_BYTES:
        content["data"] = {}
        overflow = len(encode()) - MAX_PAYLOAD_BYTES
        if overflow > 0:
            content["body"] = content["body"][: max(0, len(content["body"]) - overflow - 4)] + "…"
        payload = encode()
    return payload


class PushChannel(HttpTargetsChannel):
    key = "push"
    batch_size = 100

    def render(self, delivery) -> Message | None:
        notification = delivery.notification
        subscriptions = list(push_subscription_list(user=notification.user_id))
        if not subscriptions:
            return None
        targets, already_delivered = pending_targets(
            delivery_id=delivery.pk,
            kind="push",
            items=subscriptions,
            describe=lambda s: {"id": s.pk, "endpoint": s.endpoint, "keys": {"p256dh": s.p256dh, "auth": s.auth}},
        )
        title, body = delivery_title_body(delivery)
        return Message(
            delivery_id=delivery.pk,
            user_id=notification.user_id,
            to=f"{len(subscriptions)} push subscription(s)",
            subject=title,
            text=body,
            url=link_or_empty(notification.url),
            extra={
                "payload": _payload(delivery, title, body),
                "urgency": "high" if notification.event.event_type.critical else "normal",
                "subscriptions": targets,
                "already_delivered": already_delivered,
            },
        )

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        signer = vapid_signer(settings.VAPID_PRIVATE_KEY)
        client = GuardedClient()
        try:
            by_target, results = send_to_targets(
                messages, "subscriptions", lambda m, s: self._push(client, signer, m, s), report
            )
        finally:
            client.close()
        # Database writes stay out of the sending threads.
        gone = [subscription["id"] for subscription, result in by_target if result.detail.get("gone")]
        if gone:
            push_subscriptions_expire(subscription_ids=gone)
        return results

    def _push(self, client: GuardedClient, signer: Vapid, message: Message, subscription: dict) -> TargetResult:
        target = subscription["key"]
        detail: dict = {}
        try:
            response = webpush(
                subscription_info={"endpoint": subscription["endpoint"], "keys": subscription["keys"]},
                data=message.extra["payload"],
                vapid_private_key=signer,
                # A fresh dict each time: pywebpush writes `aud` and `exp` into it.
                vapid_claims={"sub": settings.VAPID_SUBJECT},
                content_encoding="aes128gcm",
                ttl=settings.PUSH_TTL_SECONDS,
                headers={"Urgency": message.extra["urgency"]},
                timeout=client.timeouts,
                requests_session=client,
            )
        except WebPushException as exc:
            response = exc.response
            if response is None:  # refused before sending (bad keys)
                return TargetResult(target, Outcome.PERMANENT, error=str(exc)[:500])
        except (UnsafeURL, OSError, requests.RequestException) as exc:
            return request_error_result(target, exc, detail)
        if response.status_code in GONE:
            detail.update(gone=True, response=response.text[:300])
            error = f"answered {response.status_code}: subscription gone, removed"
            return TargetResult(target, Outcome.PERMANENT, status=response.status_code, error=error, detail=detail)
        # The push service names the message it accepted in Location.
        return response_result(target, response, detail=detail, message_id=response.headers.get("Location", ""))


register(PushChannel())
