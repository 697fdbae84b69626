from django.contrib import admin

from apps.common.priorities import CRITICAL

from .models import Event, EventType


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "critical", "default_priority", "default_channels", "created_at")
    list_filter = ("critical", "default_priority")
    search_fields = ("key", "name")

    def save_model(self, request, obj, form, change):
        # A new critical type's fan-outs are critical unless a priority was chosen.
        if not change and obj.critical and "default_priority" not in form.changed_data:
            obj.default_priority = CRITICAL
        super().save_model(request, obj, form, change)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "event_type",
        "subject_type",
        "subject_id",
        "actor",
        "priority",
        "fanout_state",
        "recipient_count",
        "created_at",
    )
    list_filter = ("fanout_state", "priority", "event_type")
    search_fields = ("idempotency_key", "subject_id", "correlation_id")
    raw_id_fields = ("actor",)
    readonly_fields = (
        "priority",
        "fanout_state",
        "fanout_cursor",
        "fanout_heartbeat_at",
        "fanned_out_at",
        "recipient_count",
        "correlation_id",
        "created_at",
    )
    date_hierarchy = "created_at"
