"""Provider callbacks signed the way Twilio and SendGrid sign them, posted to the service."""

import base64
import json
import time

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


def sendgrid_post(events, key, timestamp=None, tamper=False):
    payload = json.dumps(events)
    timestamp = timestamp or str(int(time.time()))
    signature = base64.b64encode(key.sign((timestamp + payload).encode(), ec.ECDSA(hashes.SHA256()))).decode()
    if tamper:
        payload = payload.replace('"delivered"', '"bounce"')
    return Client().post(
        SENDGRID_PATH,
        payload,
        content_type="application/json",
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=signature,
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=timestamp,
    )


def history(delivery):
    return list(delivery.events.values_list("status", flat=True))
