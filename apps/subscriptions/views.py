"""The one-click unsubscribe page of the links in emails (apps.delivery.unsubscribe
signs them). CSRF does not apply to its POST (RFC 8058: mail clients post it blind)."""

from django.core import signing
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.delivery.unsubscribe import unsubscribe_token_read

from .services import subscription_unsubscribe


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    try:
        target = unsubscribe_token_read(token)
    except signing.BadSignature:
        context = {"heading": "Invalid link", "message": "This unsubscribe link is not valid."}
        return render(request, "delivery/unsubscribe.html", context, status=400)
    if request.method == "GET":
        # A GET never changes anything: link scanners follow links in mail.
        context = {"heading": "Unsubscribe", "message": "Stop receiving these emails?", "confirm": True}
        return render(request, "delivery/unsubscribe.html", context)
    if not subscription_unsubscribe(target=target):
        context = {"heading": "Not found", "message": "There is no such subscription."}
        return render(request, "delivery/unsubscribe.html", context, status=404)
    context = {"heading": "Unsubscribed", "message": "You will not receive these emails any more."}
    return render(request, "delivery/unsubscribe.html", context)
