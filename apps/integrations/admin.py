from django.contrib import admin

from .models import StatusWebhookEndpoint


@admin.register(StatusWebhookEndpoint)
class StatusWebhookEndpointAdmin(admin.ModelAdmin):
    """Read-only: services manage their endpoints through the API. Operators see which
    are failing and why, and may remove one; the secret is never shown."""

    list_display = ("id", "url", "api_key", "attempts", "next_try_at", "cursor", "created_at")
    list_filter = ("api_key",)
    search_fields = ("url",)
    fields = ("api_key", "url", "cursor", "pending_upto", "attempts", "next_try_at", "last_error", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
