from django.contrib import admin

from .models import Event

# EventType is administered with subscriptions (apps/subscriptions/admin.py): closing a
# type to self-service takes back what people subscribed to it.


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
