from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from .models import DirectSend, DirectSendRecipient, UserNotification
from .sends import direct_send_cancel


@admin.register(UserNotification)
class UserNotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "address", "title", "event", "in_inbox", "read_at", "archived_at", "created_at")
    list_filter = ("in_inbox", ("read_at", admin.EmptyFieldListFilter), ("archived_at", admin.EmptyFieldListFilter))
    search_fields = ("user__username", "address", "title")
    raw_id_fields = ("user", "event")
    readonly_fields = ("created_at", "story")
    # Counting millions of rows on every page load is what makes inbox admins slow.
    show_full_result_count = False

    @admin.display(description="Story")
    def story(self, obj):
        if obj.pk is None:
            return "—"
        url = reverse("admin:dashboard_notification_story", args=[obj.pk])
        return format_html('<a href="{}">Event, deliveries, timelines and content</a>', url)


class DirectSendRecipientInline(admin.TabularInline):
    model = DirectSendRecipient
    raw_id_fields = ("user",)
    extra = 0
    can_delete = False
    max_num = 0  # recipients are fixed when the send is made


@admin.register(DirectSend)
class DirectSendAdmin(admin.ModelAdmin):
    list_display = ("id", "event", "priority", "status", "recipient_count", "scheduled_at", "api_key", "created_at")
    list_filter = ("status", "priority")
    raw_id_fields = ("event", "created_by")
    readonly_fields = (
        "event",
        "api_key",
        "created_by",
        "priority",
        "channels",
        "scheduled_at",
        "status",
        "cancelled_at",
        "recipient_count",
        "created_at",
        "stories",
    )
    inlines = [DirectSendRecipientInline]

    @admin.display(description="Stories")
    def stories(self, obj):
        # Each recipient's item has its story; the list of them is filtered by the event.
        first = UserNotification.objects.filter(event_id=obj.event_id).order_by("user_id").first()
        items = reverse("admin:notifications_usernotification_changelist") + f"?event__id__exact={obj.event_id}"
        if first is None:
            return format_html('<a href="{}">Its inbox items</a> (none yet)', items)
        story = reverse("admin:dashboard_notification_story", args=[first.pk])
        return format_html('<a href="{}">Its inbox items</a> · <a href="{}">the first one\'s story</a>', items, story)

    actions = ["cancel"]

    def has_add_permission(self, request):
        return False  # sends are made through the API

    @admin.action(description="Cancel selected sends (and their pending deliveries)")
    def cancel(self, request, queryset):
        cancelled = sum(direct_send_cancel(send=send, by=request.user.username) for send in queryset)
        self.message_user(request, f"Cancelled {queryset.count()} sends, {cancelled} pending deliveries.")
