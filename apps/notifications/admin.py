from django.contrib import admin

from .models import UserNotification


@admin.register(UserNotification)
class UserNotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "title", "event", "in_inbox", "read_at", "archived_at", "created_at")
    list_filter = ("in_inbox", ("read_at", admin.EmptyFieldListFilter), ("archived_at", admin.EmptyFieldListFilter))
    search_fields = ("user__username", "title")
    raw_id_fields = ("user", "event")
    readonly_fields = ("created_at",)
    # Counting millions of rows on every page load is what makes inbox admins slow.
    show_full_result_count = False
