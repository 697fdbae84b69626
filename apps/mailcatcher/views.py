"""The staff page of the development mailbox. Only with DEBUG (404 otherwise, before
anything else is asked), only for staff. A message's HTML is untrusted: it is never
put into the page, only served on its own URL into a sandboxed iframe, under a policy
that runs no script and loads nothing (no remote images, no tracking pixels)."""

import functools
from pathlib import Path

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from .selectors import caught_message_get, caught_message_list

PAGE_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; frame-ancestors 'none'"
# `sandbox` without allowances: an opaque origin, no script, no forms, no navigation of the page.
MESSAGE_CONTENT_SECURITY_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
)


def debug_only(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not settings.DEBUG:
            raise Http404("The mailbox exists only in development (DEBUG).")
        return view(request, *args, **kwargs)

    return wrapped


def _directory() -> Path:
    return Path(settings.MAIL_CATCHER_DIR)


@require_GET
@debug_only
@staff_member_required
def mailbox_view(request):
    messages = caught_message_list(directory=_directory())
    response = render(
        request,
        "mailcatcher/mailbox.html",
        {"messages": messages, "directory": _directory(), "keep": settings.MAIL_CATCHER_KEEP},
    )
    response["Content-Security-Policy"] = PAGE_CONTENT_SECURITY_POLICY
    return response


@require_GET
@debug_only
@staff_member_required
@xframe_options_sameorigin
def mailbox_message_html_view(request, name: str):
    message = caught_message_get(directory=_directory(), name=name)
    if message is None or message.html is None:
        raise Http404("No such message, or it has no HTML part.")
    response = HttpResponse(message.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = MESSAGE_CONTENT_SECURITY_POLICY
    response["Referrer-Policy"] = "no-referrer"
    return response
