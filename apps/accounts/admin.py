from django import forms
from django.contrib import admin, messages

from .models import Device, Profile, PushSubscription, WebhookEndpoint
from .services import webhook_endpoint_rotate_secret, webhook_secret_generate
from .validators import validate_outbound_url


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "phone", "slack_id", "timezone", "locale")
    search_fields = ("user__username", "user__email", "phone", "slack_id")
    raw_id_fields = ("user",)


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "endpoint", "created_at", "updated_at")
    search_fields = ("user__username", "endpoint")
    raw_id_fields = ("user",)
    # Browsers make subscriptions (through the API); here they can be looked at and removed.
    # Their keys are secrets (encrypted at rest) and are not shown.
    fields = readonly_fields = ("user", "endpoint", "user_agent", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "platform", "name", "created_at", "updated_at")
    list_filter = ("platform",)
    search_fields = ("user__username", "name")
    raw_id_fields = ("user",)
    # Apps register devices (through the API); here they can be looked at and removed.
    fields = readonly_fields = ("user", "platform", "name", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False


class WebhookEndpointForm(forms.ModelForm):
    url = forms.CharField(max_length=2048, validators=[validate_outbound_url])

    class Meta:
        model = WebhookEndpoint
        fields = ("user", "url", "description", "event_types", "is_active")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Service endpoints (no user) are managed here; the secret is shown once, in the
    message after creating or rotating."""

    form = WebhookEndpointForm
    list_display = ("id", "url", "user", "is_active", "created_at")
    list_filter = ("is_active", ("user", admin.EmptyFieldListFilter))
    search_fields = ("url", "user__username", "description")
    raw_id_fields = ("user",)
    filter_horizontal = ("event_types",)
    actions = ["rotate_secret"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.secret = webhook_secret_generate()
        super().save_model(request, obj, form, change)
        if not change:
            self._show_secret(request, obj)

    @admin.action(description="Rotate the signing secret (the old one stays valid for the grace period)")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            self._show_secret(request, webhook_endpoint_rotate_secret(endpoint=endpoint))

    def _show_secret(self, request, endpoint):
        self.message_user(
            request,
            f"Signing secret for {endpoint.url} (shown once, store it with the receiver): {endpoint.secret}",
            messages.WARNING,
        )
