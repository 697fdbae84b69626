from django.contrib import admin

from apps.common.priorities import CRITICAL
from apps.events.models import EventType

from .models import Preference, Subscription, SubscriptionOptOut, SubscriptionOrigin
from .services import subscriptions_delete, subscriptions_revoke_for_event_type, subscriptions_set_enabled


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    list_display = (
        "key",
        "name",
        "critical",
        "self_service",
        "default_priority",
        "batch_window_seconds",
        "throttle_limit",
        "default_channels",
        "created_at",
    )
    list_filter = ("critical", "self_service", "default_priority")
    search_fields = ("key", "name")

    def get_readonly_fields(self, request, obj=None):
        # The key is what others subscribe and publish by (and the form's slug check
        # refuses the dots of every existing key, so no change could be saved).
        return ("key",) if obj else ()

    def save_model(self, request, obj, form, change):
        # A new critical type's fan-outs are critical unless a priority was chosen.
        if not change and obj.critical and "default_priority" not in form.changed_data:
            obj.default_priority = CRITICAL
        super().save_model(request, obj, form, change)
        if change and "self_service" in form.changed_data and not obj.self_service:
            subscriptions_revoke_for_event_type(event_type=obj)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "event_type",
        "channel",
        "subject_type",
        "subject_id",
        "enabled",
        "origin",
        "updated_at",
    )
    list_filter = ("enabled", "origin", "channel", "event_type")
    search_fields = ("user__username", "user__email", "subject_id")
    raw_id_fields = ("user",)
    readonly_fields = ("origin",)
    actions = ["enable", "disable"]

    def save_model(self, request, obj, form, change):
        # Staff act as the service does: what they add is not held to the person's rule.
        if not change:
            obj.origin = SubscriptionOrigin.SERVICE
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        subscriptions_delete(queryset=Subscription.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        subscriptions_delete(queryset=queryset)

    @admin.action(description="Enable selected subscriptions")
    def enable(self, request, queryset):
        count = subscriptions_set_enabled(queryset=queryset, enabled=True)
        self.message_user(request, f"Enabled {count} subscriptions.")

    @admin.action(description="Disable selected subscriptions")
    def disable(self, request, queryset):
        count = subscriptions_set_enabled(queryset=queryset, enabled=False)
        self.message_user(request, f"Disabled {count} subscriptions.")


@admin.register(SubscriptionOptOut)
class SubscriptionOptOutAdmin(admin.ModelAdmin):
    """Removals the defaults respect; deleting one lets the defaults give it back."""

    list_display = ("user", "event_type", "channel", "created_at")
    list_filter = ("channel", "event_type")
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "muted_channels", "mute_until", "quiet_start", "quiet_end", "digest", "updated_at")
    list_filter = ("digest",)
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)
