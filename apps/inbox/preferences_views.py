"""The preference center (/inbox/preferences/) and the service worker of web push.

A plain POST form that works without JavaScript (redirect after a save, errors next to
their fields); the page's script sends the same form with fetch and gets JSON. Saving
goes through the preferences API's own serializer and service, never a second path."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.exceptions import NotFound, PermissionDenied

from apps.common.channels import Channel
from apps.common.errors import error_response
from apps.subscriptions.models import DigestFrequency, SubscriptionOrigin
from apps.subscriptions.preferences_api import PreferencesInput
from apps.subscriptions.services import preference_update

from .preferences_form import (
    MUTABLE_CHANNELS,
    PAGE_CHANNELS,
    api_input,
    field_errors,
    posted_state,
    saved_state,
    self_service_event_types,
    timezone_choices,
    toggle_name,
)

SAVED = "Preferences saved."
INVALID = "Some choices could not be saved; see the messages next to them."


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _page(request, *, event_types, state, errors=None, refusal="", status=200):
    labels = dict(Channel.choices)
    rows = [
        {
            "event_type": event_type,
            "toggles": [
                {
                    "name": toggle_name(event_type.key, channel),
                    "id": f"sub-{event_type.key}-{channel}".replace(".", "-"),
                    "label": labels[channel],
                    "on": toggle_name(event_type.key, channel) in state.subscriptions,
                }
                for channel in PAGE_CHANNELS
            ],
        }
        for event_type in event_types
    ]
    context = {
        "rows": rows,
        "state": state,
        "mutable_channels": [(c, labels[c]) for c in MUTABLE_CHANNELS],
        "digest_choices": DigestFrequency.choices,
        "timezones": timezone_choices(),
        "errors": errors or {},
        "refusal": refusal,
        "vapid_public_key": settings.VAPID_PUBLIC_KEY,
        "quiet_channels": [labels[c] for c in settings.QUIET_HOURS_CHANNELS if c in labels],
    }
    return render(request, "inbox/preferences.html", context, status=status)


def _refused(request, *, event_types, posted, errors=None, message, status):
    if _wants_json(request):
        return error_response(status, message, details=errors)
    return _page(request, event_types=event_types, state=posted, errors=errors, refusal=message, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def preferences_page(request):
    event_types = list(self_service_event_types())
    if request.method == "GET":
        return _page(request, event_types=event_types, state=saved_state(user=request.user))

    posted = posted_state(request.POST)
    shown = [toggle_name(e.key, c) for e in event_types for c in PAGE_CHANNELS]
    data = PreferencesInput(data=api_input(posted=posted, user=request.user, shown_toggles=shown))
    if not data.is_valid():
        errors = field_errors(data.errors)
        return _refused(request, event_types=event_types, posted=posted, errors=errors, message=INVALID, status=400)
    try:
        preference_update(user=request.user, data=data.to_service_data(), origin=SubscriptionOrigin.PERSON)
    except (PermissionDenied, NotFound) as exc:
        # The access rule refused an opt-in the page never offered; the service's
        # transaction wrote nothing.
        message, status = str(exc.detail), exc.status_code
        return _refused(request, event_types=event_types, posted=posted, message=message, status=status)
    if _wants_json(request):
        return JsonResponse({"saved": True, "message": SAVED})
    messages.success(request, SAVED)
    return redirect("inbox-preferences")


@require_GET
def service_worker(request):
    """Served from /inbox/, so its scope covers the inbox pages. No secrets in it, and
    browsers fetch updates of it without the person's session in mind: public."""
    response = HttpResponse(render_to_string("inbox/sw.js"), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # a new version reaches browsers at their next visit
    return response
