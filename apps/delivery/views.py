"""Provider callbacks.

The callbacks carry no session or API key: their provider's signature is the
authentication, checked before anything is read or written. CSRF does not apply to
them. (The unsubscribe page, whose links delivery signs, is apps.subscriptions.views.)
"""

import binascii
import logging
import time

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ParseError
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator

from apps.common.errors import error_response
from apps.common.parsers import json_body_parse

from .callbacks import sendgrid_events_apply, twilio_status_apply
from .suppressions import sendgrid_suppressions_record, twilio_suppressions_record

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
    params = request.POST.dict()
    twilio_status_apply(params=params)
    twilio_suppressions_record(params=params)
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


def _sendgrid_timestamp_fresh(request) -> bool:
    """The signed timestamp is within SENDGRID_WEBHOOK_MAX_AGE_SECONDS of now (either
    way: a clock ahead is no licence to replay later): an older signed batch is a replay."""
    try:
        signed_at = int(request.headers.get(SENDGRID_TIMESTAMP, ""))
    except ValueError:
        return False
    return abs(time.time() - signed_at) <= settings.SENDGRID_WEBHOOK_MAX_AGE_SECONDS


@csrf_exempt
@require_POST
def sendgrid_event_callback(request):
    if not _sendgrid_signature_valid(request):
        return _forbidden()
    if not _sendgrid_timestamp_fresh(request):
        return error_response(
            403,
            "The signed timestamp is outside the replay window.",
            code="stale_signature",
            details={"max_age_seconds": settings.SENDGRID_WEBHOOK_MAX_AGE_SECONDS},
        )
    if request.content_type != "application/json":
        return error_response(415, "The body must be application/json.")
    try:
        events = json_body_parse(request.body)
    except ParseError as exc:
        return error_response(400, str(exc.detail), code="parse_error")
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        return error_response(400, "Expected a JSON array of event objects.", code="invalid")
    sendgrid_events_apply(events=events)
    sendgrid_suppressions_record(events=events)
    return HttpResponse(status=204)
