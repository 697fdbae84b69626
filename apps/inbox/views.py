"""The web inbox. Every action is a POST form that works without JavaScript (it
redirects back); the page's script sends the same forms with fetch and gets JSON."""

from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from apps.accounts.services import profile_ensure
from apps.common.errors import error_response
from apps.notifications import services
from apps.notifications.api import InboxItemOutput, InboxLinePagination
from apps.notifications.selectors import inbox_unread_count

from .selectors import PAGE_SIZE, SHOW_API_FILTERS, SHOW_CHOICES, inbox_newest_id, inbox_page_items
from .snooze_times import SNOOZE_CHOICES, snooze_until

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


def _lines_page(request, items):
    """One page of grouped lines and the cursor of the next (None at the end): the same
    cursors as the inbox API's `?group=subject`, so the page and "Load more" agree."""
    paginator = InboxLinePagination()
    paginator.page_size = PAGE_SIZE
    try:
        lines = paginator.paginate_lines(items, Request(request))
    except ValidationError:  # a mangled ?cursor= on a page: show the first page
        request.GET = request.GET.copy()
        request.GET.pop("cursor", None)
        lines = paginator.paginate_lines(items, Request(request))
    next_link = paginator.get_next_link()
    cursor = parse_qs(urlsplit(next_link).query).get("cursor", [None])[0] if next_link else None
    return lines, cursor


@login_required
@require_GET
def inbox_page(request):
    show = request.GET.get("show", "all")
    if show not in SHOW_CHOICES:
        show = "all"
    lines, next_cursor = _lines_page(request, inbox_page_items(user=request.user, show=show))
    filters = SHOW_API_FILTERS[show]
    context = {
        "lines": lines,
        "next_cursor": next_cursor,
        "more_url": f"{reverse('inbox')}?group=subject&limit={PAGE_SIZE}{'&' + filters if filters else ''}",
        "show": show,
        "show_choices": SHOW_CHOICES,
        "snooze_choices": SNOOZE_CHOICES,
        "unread": inbox_unread_count(user=request.user),
        "newest_id": inbox_newest_id(user=request.user),
    }
    return render(request, "inbox/inbox.html", context)


@login_required
@require_POST
def inbox_item_snooze(request, notification_id: int):
    until = snooze_until(
        request.POST.get("choice", ""), now=timezone.now(), tz=profile_ensure(user=request.user).timezone
    )
    if until is None:
        if _wants_json(request):
            return error_response(400, "Unknown snooze choice.", details={"choice": list(SNOOZE_CHOICES)})
        return _back(request)
    try:
        item = services.inbox_snooze(user=request.user, notification_id=notification_id, until=until)
    except ObjectDoesNotExist as exc:
        raise Http404 from exc
    if _wants_json(request):
        return JsonResponse({"item": InboxItemOutput(item).data, "unread": inbox_unread_count(user=request.user)})
    return _back(request)


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
