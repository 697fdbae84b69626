from django.contrib import admin

from .models import AlertIncident


@admin.register(AlertIncident)
class AlertIncidentAdmin(admin.ModelAdmin):
    """The alerts' incidents, read only: the evaluation opens and resolves them."""

    list_display = ("key", "title", "opened_at", "last_notified_at", "resolved_at")
    list_filter = ("resolved_at",)
    search_fields = ("key", "title")
    ordering = ("-opened_at",)
    readonly_fields = ("key", "title", "details", "opened_at", "last_notified_at", "announced", "resolved_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
