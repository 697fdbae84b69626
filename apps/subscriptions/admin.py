from django.contrib import admin

from .models import Preference, Subscription
from .services import subscriptions_set_enabled


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "event_type", "channel", "subject_type", "subject_id", "enabled", "updated_at")
    list_filter = ("enabled", "channel", "event_type")
    search_fields = ("user__username", "user__email", "subject_id")
    raw_id_fields = ("user",)
    actions = ["enable", "disable"]

    @admin.action(description="Enable selected subscriptions")
    def enable(self, request, queryset):
        count = subscriptions_set_enabled(queryset=queryset, enabled=True)
        self.message_user(request, f"Enabled {count} subscriptions.")

    @admin.action(description="Disable selected subscriptions")
    def disable(self, request, queryset):
        count = subscriptions_set_enabled(queryset=queryset, enabled=False)
        self.message_user(request, f"Disabled {count} subscriptions.")


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "muted_channels", "mute_until", "quiet_start", "quiet_end", "digest", "updated_at")
    list_filter = ("digest",)
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)
