"""The `mobile_push` channel: Firebase Cloud Messaging HTTP v1 (Android, iOS through
APNs, and web apps on the FCM SDK) through firebase-admin, to each of the person's
registered devices (apps/accounts Device, `/api/v1/devices/`).

The firebase-admin App is built from the service account's JSON key
(FCM_SERVICE_ACCOUNT_FILE); google-auth signs a JWT with its key and trades it for an
OAuth token at the key's `token_uri`. FCM_API_BASE_URL replaces the FCM host (tests
run a local server speaking FCM v1 and the token endpoint).

A token FCM no longer knows (UNREGISTERED / NOT_FOUND, or INVALID_ARGUMENT naming the
registration token) is removed with its device, and that target fails for good.
"""

import json
from functools import lru_cache

import firebase_admin
import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from firebase_admin import credentials, exceptions, messaging
from google.auth.exceptions import GoogleAuthError

from apps.accounts.selectors import device_list
from apps.accounts.services import devices_expire
from apps.common.links import link_or_empty
from apps.common.priorities import URGENT

from ..rendering import delivery_title_body
from .base import Message, Outcome, Report, SendResult, no_report
from .email_sendgrid import retry_after_seconds
from .registry import register
from .targets import TargetResult, pending_targets, send_to_targets

APP_NAME = "notifications-mobile-push"
FCM_HOST = "https://fcm.googleapis.com"
# FCM refuses a message whose data is over 4096 bytes; the event's data goes first.
MAX_DATA_BYTES = 3000
TITLE_MAX, BODY_MAX = 200, 1000


@lru_cache(maxsize=2)
def firebase_app(key_file: str, api_base_url: str) -> firebase_admin.App:
    """One App per process (and per key file): it caches the OAuth token until it expires."""
    if not key_file:
        raise ImproperlyConfigured("FCM_SERVICE_ACCOUNT_FILE is not set: mobile push cannot authenticate.")
    try:
        app = firebase_admin.get_app(APP_NAME)
    except ValueError:
        app = firebase_admin.initialize_app(
            credentials.Certificate(key_file),
            options={"httpTimeout": settings.PROVIDER_HTTP_TIMEOUT_SECONDS},
            name=APP_NAME,
        )
    if api_base_url.rstrip("/") != FCM_HOST:
        # firebase-admin names its endpoint in the service object and offers no option
        # for it; the path stays FCM v1's.
        service = messaging._get_messaging_service(app)
        service._fcm_url = f"{api_base_url.rstrip('/')}/v1/projects/{app.project_id}/messages:send"
    return app


def fcm_priority(event_priority: str) -> str:
    return "high" if event_priority in URGENT else "normal"


def _data(notification) -> dict[str, str]:
    """FCM data values are strings: the event's data travels as one JSON string, left
    out when it would not fit."""
    data = {
        "notification_id": str(notification.pk),
        "event_type": notification.event.event_type.key,
        "url": link_or_empty(notification.url),
    }
    payload = json.dumps(notification.effective_data, default=str, separators=(",", ":"))
    if len(payload.encode()) <= MAX_DATA_BYTES:
        data["data"] = payload
    return data


def _image(notification) -> str:
    data = notification.effective_data
    value = data.get("image_url") or data.get("image") if isinstance(data, dict) else ""
    link = link_or_empty(value) if isinstance(value, str) else ""
    return link if link.startswith("https://") else ""


def fcm_message(message: Message, token: str) -> messaging.Message:
    extra = message.extra
    priority = extra["priority"]
    return messaging.Message(
        token=token,
        notification=messaging.Notification(title=message.subject, body=message.text, image=extra["image"] or None),
        data=extra["data"],
        android=messaging.AndroidConfig(
            priority=priority,
            ttl=settings.FCM_TTL_SECONDS,
            collapse_key=extra["collapse_key"],
        ),
        apns=messaging.APNSConfig(
            # APNs: 10 delivers at once, 5 when the device chooses (saving power).
            headers={"apns-priority": "10" if priority == "high" else "5"},
            payload=messaging.APNSPayload(aps=messaging.Aps(thread_id=extra["data"]["event_type"])),
        ),
        webpush=messaging.WebpushConfig(
            headers={"Urgency": "high" if priority == "high" else "normal"},
            fcm_options=messaging.WebpushFCMOptions(link=message.url) if message.url.startswith("https://") else None,
        ),
    )


def _token_gone(exc: exceptions.FirebaseError) -> bool:
    if isinstance(exc, messaging.UnregisteredError | exceptions.NotFoundError):
        return True
    return isinstance(exc, exceptions.InvalidArgumentError) and "registration token" in str(exc).lower()


def _error_outcome(exc: exceptions.FirebaseError) -> Outcome:
    transient = (
        exceptions.UnavailableError,
        exceptions.InternalError,
        exceptions.DeadlineExceededError,
        exceptions.ResourceExhaustedError,  # QUOTA_EXCEEDED: per project or per device
        exceptions.UnknownError,
        exceptions.AbortedError,
    )
    return Outcome.TRANSIENT if isinstance(exc, transient) else Outcome.PERMANENT


class MobilePushChannel:
    key = "mobile_push"
    batch_size = 100

    def render(self, delivery) -> Message | None:
        notification = delivery.notification
        if notification.user_id is None:
            return None
        devices = list(device_list(user=notification.user_id))
        if not devices:
            return None
        targets, already_delivered = pending_targets(
            delivery_id=delivery.pk,
            kind="device",
            items=devices,
            describe=lambda d: {"id": d.pk, "token": d.token, "platform": d.platform},
        )
        title, body = delivery_title_body(delivery)
        return Message(
            delivery_id=delivery.pk,
            user_id=notification.user_id,
            to=f"{len(devices)} device(s)",
            subject=title[:TITLE_MAX],
            text=body[:BODY_MAX],
            url=link_or_empty(notification.url),
            extra={
                "data": _data(notification),
                "image": _image(notification),
                "priority": fcm_priority(notification.event.priority),
                "collapse_key": f"notification-{notification.pk}",
                "devices": targets,
                "already_delivered": already_delivered,
            },
        )

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        app = firebase_app(settings.FCM_SERVICE_ACCOUNT_FILE, settings.FCM_API_BASE_URL)
        by_target, results = send_to_targets(messages, "devices", lambda m, d: self._send(app, m, d), report)
        # Database writes stay out of the sending threads.
        gone = [device["id"] for device, result in by_target if result.detail.get("gone")]
        if gone:
            devices_expire(device_ids=gone)
        return results

    def _send(self, app, message: Message, device: dict) -> TargetResult:
        target = device["key"]
        detail: dict = {"platform": device["platform"]}
        try:
            name = messaging.send(fcm_message(message, device["token"]), app=app)
        except exceptions.FirebaseError as exc:
            response = exc.http_response
            status = response.status_code if response is not None else None
            detail["fcm_code"] = exc.code
            if _token_gone(exc):
                detail["gone"] = True
                error = f"FCM answered {exc.code}: token no longer valid, device removed"
                return TargetResult(target, Outcome.PERMANENT, status=status, error=error, detail=detail)
            wait = retry_after_seconds(response.headers) if response is not None else None
            return TargetResult(
                target,
                _error_outcome(exc),
                status=status,
                error=f"FCM answered {exc.code}: {exc}"[:500],
                retry_after=wait,
                detail=detail,
            )
        except (GoogleAuthError, requests.RequestException, OSError) as exc:
            # The OAuth token could not be had, or no answer.
            error = f"{exc.__class__.__name__}: {exc}"[:500]
            return TargetResult(target, Outcome.TRANSIENT, error=error, detail=detail)
        return TargetResult(target, Outcome.SENT, status=200, provider_message_id=name, detail=detail)

    def classify(self, exc: Exception) -> Outcome:
        # A batch-wide failure: a missing key file stays missing.
        return Outcome.PERMANENT if isinstance(exc, ImproperlyConfigured | ValueError) else Outcome.TRANSIENT


register(MobilePushChannel())
