from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from apps.common.channels import Channel
from apps.templating.admin import NotificationTemplateAdmin
from apps.templating.models import NotificationTemplate

from .chat_urls import apprise_url_masked, apprise_url_validate
from .models import ChatDestination, Delivery, DeliveryEvent, EarlyProviderEvent, Suppression
from .selectors import TemplateEngagement, template_engagement
from .services import deliveries_cancel_by_operator, deliveries_requeue
from .tasks import requeues_enqueue


class DeliveryEventInline(admin.TabularInline):
    model = DeliveryEvent
    extra = 0
    can_delete = False
    readonly_fields = ("status", "detail", "at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "channel", "status", "attempts", "notification", "updated_at", "sent_at")
    list_filter = ("status", "channel")
    search_fields = ("provider_message_id", "notification__user__username", "notification__event__correlation_id")
    raw_id_fields = ("notification",)
    readonly_fields = (
        "attempts",
        "last_error",
        "provider_message_id",
        "created_at",
        "updated_at",
        "sent_at",
        "correlation_id",
        "story",
    )
    inlines = [DeliveryEventInline]
    actions = ["requeue", "cancel"]

    @admin.display(description="Story")
    def story(self, obj):
        if obj.notification_id is None:  # the add page
            return "—"
        url = reverse("admin:dashboard_notification_story", args=[obj.notification_id])
        return format_html('<a href="{}">The whole story of this notification</a>', url)

    # The action permissions: admin actions show and run only for holders of them.
    def has_requeue_permission(self, request):
        return request.user.has_perm("delivery.requeue_delivery")

    def has_cancel_permission(self, request):
        return request.user.has_perm("delivery.cancel_delivery")

    @admin.display(description="Correlation id")
    def correlation_id(self, obj):
        # The request that published the event this delivery came from.
        return obj.notification.event.correlation_id

    @admin.action(description="Requeue selected dead or failed deliveries", permissions=["requeue"])
    def requeue(self, request, queryset):
        requeued = deliveries_requeue(delivery_ids=queryset.values_list("pk", flat=True), by=request.user.username)
        count = requeues_enqueue(requeued)
        self.message_user(request, f"Requeued {count} deliveries.")

    @admin.action(description="Cancel selected deliveries not yet sent", permissions=["cancel"])
    def cancel(self, request, queryset):
        count = deliveries_cancel_by_operator(
            delivery_ids=queryset.values_list("pk", flat=True), by=request.user.username
        )
        self.message_user(request, f"Cancelled {count} deliveries.")


@admin.register(EarlyProviderEvent)
class EarlyProviderEventAdmin(admin.ModelAdmin):
    """Provider callbacks waiting for their send to be recorded: a few for seconds is
    normal; many, or old ones, point at sends their workers never recorded."""

    list_display = ("id", "delivery_id", "provider_message_id", "status", "received_at")
    list_filter = ("status",)
    search_fields = ("provider_message_id",)
    readonly_fields = ("delivery", "provider_message_id", "status", "detail", "dedupe", "received_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    """Addresses not sent non-critical mail or SMS. Deleting one lifts it (e.g. after
    the person asks again); rows are written by callbacks and unsubscribes only."""

    list_display = ("address", "channel", "reason", "created_at")
    list_filter = ("channel", "reason")
    search_fields = ("address",)
    readonly_fields = ("address", "channel", "reason", "detail", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ChatDestinationForm(forms.ModelForm):
    """The Apprise URL is written, never shown again: it carries the destination's
    credentials. Left empty on a change, the stored one stays."""

    apprise_url = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.PasswordInput(render_value=False),
        help_text="An Apprise URL, e.g. msteams://…, discord://…, tgram://…, ntfys://host/topic",
    )

    class Meta:
        model = ChatDestination
        fields = ("name", "apprise_url", "event_types", "is_active")

    def clean_apprise_url(self):
        url = self.cleaned_data["apprise_url"].strip()
        if not url and self.instance.pk:
            return self.instance.apprise_url
        if not url:
            raise forms.ValidationError("Give the destination's Apprise URL.")
        apprise_url_validate(url)
        return url


@admin.register(ChatDestination)
class ChatDestinationAdmin(admin.ModelAdmin):
    form = ChatDestinationForm
    list_display = ("name", "service", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    filter_horizontal = ("event_types",)

    @admin.display(description="Apprise URL (credentials masked)")
    def service(self, obj):
        return apprise_url_masked(obj.apprise_url)


def _rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


class TrackedTemplateAdmin(NotificationTemplateAdmin):
    """The template's page as templating has it, with the engagement of the emails it
    sent: templating sits below delivery and cannot read deliveries itself."""

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "email_engagement") if obj is not None and obj.channel == Channel.EMAIL else fields

    @admin.display(description="Email tracking figures")
    def email_engagement(self, obj):
        figures = template_engagement(template_ids=[obj.pk]).get(obj.pk, TemplateEngagement())
        return format_html(
            "Sent {} · opened {} ({}) · clicked {} ({}) · {} opens and {} clicks in all",
            figures.sent,
            figures.opened,
            _rate(figures.open_rate),
            figures.clicked,
            _rate(figures.click_rate),
            figures.opens,
            figures.clicks,
        )


admin.site.unregister(NotificationTemplate)
admin.site.register(NotificationTemplate, TrackedTemplateAdmin)
