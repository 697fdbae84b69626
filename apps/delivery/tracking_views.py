"""The public ends of email tracking: the open pixel and the click redirect.

They carry no session or key: the signed token is the whole authority, and it names a
delivery (and a link index), never a URL. A token that was not made here, or names no
tracked email or no link of it, is answered 404 and records nothing. HEAD (what link
scanners send first) is answered without being counted.
"""

import base64
import functools

from django.core import signing
from django.http import HttpResponse, HttpResponseRedirect
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt

from apps.common.errors import error_response

from .engagement import email_click_record, email_open_record
from .selectors import tracked_email_exists, tracked_email_link
from .tracking import click_token_read, open_token_read

# A transparent 1x1 GIF.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _not_found():
    return error_response(404, "No such tracked email or link.")


def _safe_only(view):
    """GET and HEAD only; anything else is 405 in the error envelope (CSRF exempt so
    that it is this 405, not a CSRF failure page: nothing here writes on a POST)."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            response = error_response(405, f"Method {request.method} is not allowed here.")
            response["Allow"] = "GET, HEAD"
            return response
        return view(request, *args, **kwargs)

    return wrapped


def _uncached(response):
    # Every open and click must reach the service, not a cache on the way.
    add_never_cache_headers(response)
    return response


@_safe_only
def email_open(request, token):
    try:
        delivery_id = open_token_read(token)
    except signing.BadSignature:
        return _not_found()
    if request.method == "GET":
        found = email_open_record(delivery_id=delivery_id)
    else:
        found = tracked_email_exists(delivery_id=delivery_id)
    if not found:
        return _not_found()
    return _uncached(HttpResponse(PIXEL_GIF, content_type="image/gif"))


@_safe_only
def email_click(request, token):
    try:
        delivery_id, index = click_token_read(token)
    except signing.BadSignature:
        return _not_found()
    if request.method == "GET":
        url = email_click_record(delivery_id=delivery_id, index=index)
    else:
        url = tracked_email_link(delivery_id=delivery_id, index=index)
    if url is None:
        return _not_found()
    return _uncached(HttpResponseRedirect(url))
