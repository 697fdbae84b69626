"""Provider callbacks.

The callbacks carry no session or API key: their provider's signature is the
authentication, checked before anything is read or written. CSRF does not apply to
them. (The unsubscribe page, whose links delivery signs, is apps.subscriptions.views.)
"""

import binascii
import json
import logging

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator

from apps.common.errors import error_response

from .callbacks import sendgrid_events_apply, twilio_status_apply

logger = logging.getLogger(__name__)

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


def _forbidden():
    return error_response(403, "The request signature is missing or invalid.", code="bad_signature")


@csrf_exempt
@require_POST
def twilio_status_callback(request):
    signature = request.headers.get("X-Twilio-Signature", "")
    # Twilio signs the URL it called, which is ours as the public sees it.
    url = settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    if (
        not settings.TWILIO_AUTH_TOKEN
        or not signature
        or not RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, request.POST, signature)
    ):
        return _forbidden()
    twilio_status_apply(params=request.POST.dict())
    return HttpResponse(status=204)


def _sendgrid_signature_valid(request) -> bool:
    signature = request.headers.get(SENDGRID_SIGNATURE, "")
    timestamp = request.headers.get(SENDGRID_TIMESTAMP, "")
    if not (settings.SENDGRID_WEBHOOK_PUBLIC_KEY and signature and timestamp):
        return False
    try:
        payload = request.body.decode("utf-8")
        verifier = EventWebhook(settings.SENDGRID_WEBHOOK_PUBLIC_KEY)
        return verifier.verify_signature(payload, signature, timestamp)
    except (UnicodeDecodeError, binascii.Error, ValueError, TypeError):
        return False


@csrf_exempt
@require_POST
def sendgrid_event_callback(request):
    if not _sendgrid_signature_valid(request):
        return _forbidden()
    try:
        events = json.loads(request.body)
    except ValueError:
        return error_response(400, "The body is not JSON.", code="invalid")
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        return error_response(400, "Expected a JSON array of event objects.", code="invalid")
    sendgrid_events_apply(events=events)
    return HttpResponse(status=204)
