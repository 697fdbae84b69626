"""The web inbox. Every action is a POST form that works without JavaScript (it
redirects back); the page's script sends the same forms with fetch and gets JSON."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from apps.notifications import services
from apps.notifications.api import InboxItemOutput
from apps.notifications.selectors import inbox_unread_count

from .selectors import SHOW_CHOICES, inbox_newest_id, inbox_page_get

ITEM_ACTIONS = {
    "read": services.inbox_mark_read,
    "unread": services.inbox_mark_unread,
    "archive": services.inbox_archive,
    "unarchive": services.inbox_unarchive,
}


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request):
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("inbox-page")
    return redirect(target)


@login_required
@require_GET
def inbox_page(request):
    show = request.GET.get("show", "all")
    if show not in SHOW_CHOICES:
        show = "all"
    try:
        before_id = int(request.GET["before"]) if "before" in request.GET else None
    except ValueError:
        before_id = None
    context = {
        **inbox_page_get(user=request.user, show=show, before_id=before_id),
        "show": show,
        "show_choices": SHOW_CHOICES,
        "unread": inbox_unread_count(user=request.user),
        "newest_id": inbox_newest_id(user=request.user),
    }
    return render(request, "inbox/inbox.html", context)


@login_required
@require_POST
def inbox_item_action(request, notification_id: int, action: str):
    service = ITEM_ACTIONS.get(action)
    if service is None:
        raise Http404
    try:
        item = service(user=request.user, notification_id=notification_id)
    except ObjectDoesNotExist as exc:
        raise Http404 from exc  # someone else's item or no item: the same answer
    if _wants_json(request):
        return JsonResponse({"item": InboxItemOutput(item).data, "unread": inbox_unread_count(user=request.user)})
    return _back(request)


@login_required
@require_POST
def inbox_read_all(request):
    updated = services.inbox_mark_all_read(user=request.user)
    if _wants_json(request):
        return JsonResponse({"updated": updated, "unread": inbox_unread_count(user=request.user)})
    return _back(request)
