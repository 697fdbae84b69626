from django.contrib import admin

from .models import Event, EventType
from .services import event_type_self_service_closed


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "critical", "self_service", "default_channels", "created_at")
    list_filter = ("critical", "self_service")
    search_fields = ("key", "name")

    def get_readonly_fields(self, request, obj=None):
        # The key is what others subscribe and publish by (and the form's slug check
        # refuses the dots of every existing key, so no change could be saved).
        return ("key",) if obj else ()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "self_service" in form.changed_data and not obj.self_service:
            event_type_self_service_closed(event_type=obj)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "event_type",
        "subject_type",
        "subject_id",
        "actor",
        "fanout_state",
        "recipient_count",
        "created_at",
    )
    list_filter = ("fanout_state", "event_type")
    search_fields = ("idempotency_key", "subject_id", "correlation_id")
    raw_id_fields = ("actor",)
    readonly_fields = (
        "fanout_state",
        "fanout_cursor",
        "fanout_heartbeat_at",
        "fanned_out_at",
        "recipient_count",
        "correlation_id",
        "created_at",
    )
    date_hierarchy = "created_at"
