"""The dashboard's pages. Thin: the selectors read, the delivery services write, and
the admin (admin.py) wraps each view in admin_view, so only signed-in staff reach them
(others go to the admin's sign-in page) and POSTs are CSRF-checked."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.delivery.models import DeliveryStatus
from apps.delivery.services import deliveries_cancel_by_operator, deliveries_requeue
from apps.delivery.tasks import requeues_enqueue

from . import providers, selectors
from .charts import minute_chart
from .story import notification_story

DASHBOARD_URL_NAME = "admin:dashboard_deliverydashboard_changelist"


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"{permission} is needed")


def dashboard_view(request, *, admin_site):
    _require(request, "delivery.view_delivery")
    now = timezone.now()
    series = selectors.sent_failed_per_minute(now=now)
    pending_ages = selectors.oldest_pending_seconds(now=now)
    context = {
        **admin_site.each_context(request),
        "title": "Delivery dashboard",
        "now": now,
        "statuses": DeliveryStatus.choices,
        "counts": selectors.status_counts(now=now),
        "series": series,
        "chart": minute_chart(series),
        "dead_letters": selectors.dead_letters_page(page=request.GET.get("page")),
        "providers": providers.provider_states(),
        "queue_depths": providers.queue_depth_by_queue(),
        "pending_ages": pending_ages,
        "oldest_pending": max(pending_ages.values(), default=0.0),
        "can_requeue": request.user.has_perm("delivery.requeue_delivery"),
        "can_cancel": request.user.has_perm("delivery.cancel_delivery"),
    }
    return TemplateResponse(request, "admin/dashboard/dashboard.html", context)


def _back(request):
    """To the page the button was on: the story (`next`, an admin path of this host only,
    so the form cannot be made an open redirect) or the dashboard's page of dead letters."""
    target = request.POST.get("next", "")
    if target.startswith("/admin/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    page = request.POST.get("page", "")
    return redirect(reverse(DASHBOARD_URL_NAME) + (f"?page={page}" if page.isdigit() else ""))


@require_POST
def requeue_view(request, delivery_id: int):
    _require(request, "delivery.requeue_delivery")
    if requeues_enqueue(deliveries_requeue(delivery_ids=[delivery_id], by=request.user.get_username())):
        messages.success(request, f"Delivery #{delivery_id} requeued.")
    else:
        messages.warning(request, f"Delivery #{delivery_id} is not dead or failed: nothing requeued.")
    return _back(request)


@require_POST
def cancel_view(request, delivery_id: int):
    _require(request, "delivery.cancel_delivery")
    if deliveries_cancel_by_operator(delivery_ids=[delivery_id], by=request.user.get_username()):
        messages.success(request, f"Delivery #{delivery_id} cancelled.")
    else:
        messages.warning(request, f"Delivery #{delivery_id} was already sent or cancelled: nothing changed.")
    return _back(request)


def story_view(request, notification_id: int, *, admin_site):
    _require(request, "delivery.view_delivery")
    _require(request, "notifications.view_usernotification")
    story = notification_story(notification_id=notification_id)
    if story is None:
        raise Http404("No such notification")
    context = {
        **admin_site.each_context(request),
        "title": f"Notification #{story.notification.pk}: its story",
        "story": story,
        "can_requeue": request.user.has_perm("delivery.requeue_delivery"),
    }
    return TemplateResponse(request, "admin/dashboard/story.html", context)
