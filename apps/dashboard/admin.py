"""The dashboard's place in the admin: an entry in the admin index (through the proxy
model) whose list page is the dashboard, plus the requeue, cancel and story pages."""

from functools import partial

from django.contrib import admin
from django.urls import path

from . import views
from .models import DeliveryDashboard


@admin.register(DeliveryDashboard)
class DeliveryDashboardAdmin(admin.ModelAdmin):
    # Seen by whoever may view deliveries (the support and operator groups); the proxy
    # has no permissions of its own and nothing can be added, changed or deleted here.
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("delivery.view_delivery")

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        return views.dashboard_view(request, admin_site=self.admin_site)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("requeue/<int:delivery_id>/", wrap(views.requeue_view), name="dashboard_delivery_requeue"),
            path("cancel/<int:delivery_id>/", wrap(views.cancel_view), name="dashboard_delivery_cancel"),
            path(
                "story/<int:notification_id>/",
                wrap(partial(views.story_view, admin_site=self.admin_site)),
                name="dashboard_notification_story",
            ),
            *super().get_urls(),
        ]
