"""Provider callbacks signed the way Twilio and SendGrid sign them, posted to the service."""

import base64
import json
import time

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from twilio.request_validator import RequestValidator

TWILIO_PATH = "/api/v1/webhooks/twilio/status/"
SENDGRID_PATH = "/api/v1/webhooks/sendgrid/events/"
PUBLIC = "https://notify.example.com"
TOKEN = "twilio-auth-token-for-tests"


def twilio_post(params, token=TOKEN, signature=None):
    if signature is None:
        signature = RequestValidator(token).compute_signature(PUBLIC + TWILIO_PATH, params)
    return Client().post(TWILIO_PATH, params, HTTP_X_TWILIO_SIGNATURE=signature)


def sendgrid_signature(key, timestamp: str, payload: str) -> str:
    """SendGrid's Event Webhook signature: ECDSA P-256/SHA-256 over timestamp + body."""
    return base64.b64encode(key.sign((timestamp + payload).encode(), ec.ECDSA(hashes.SHA256()))).decode()


def sendgrid_post(events, key, timestamp=None, tamper=False):
    payload = json.dumps(events)
    timestamp = timestamp or str(int(time.time()))
    signature = sendgrid_signature(key, timestamp, payload)
    if tamper:
        payload = payload.replace('"delivered"', '"bounce"')
    return Client().post(
        SENDGRID_PATH,
        payload,
        content_type="application/json",
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=signature,
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=timestamp,
    )


def sendgrid_live_post(
    base_url: str, events, key, *, signed_at: int, sent_timestamp: str | None = None, timeout: float = 10
):
    """The events signed at `signed_at`, posted over HTTP to a running server; the
    timestamp header says `sent_timestamp` when given (a rewritten one), else the signed one."""
    payload = json.dumps(events)
    timestamp = str(signed_at)
    return requests.post(
        base_url + SENDGRID_PATH,
        data=payload,
        headers={
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": sendgrid_signature(key, timestamp, payload),
            "X-Twilio-Email-Event-Webhook-Timestamp": sent_timestamp or timestamp,
        },
        timeout=timeout,
    )


def history(delivery):
    return list(delivery.events.values_list("status", flat=True))
