from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .context import sample_context
from .engines import sources_validate
from .models import NotificationTemplate, TemplateVersion
from .render import template_render
from .services import template_create, template_email_tracking_set, template_restore, template_update


class TemplateForm(forms.ModelForm):
    """The content fields belong to versions; saving the form adds one."""

    subject = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 100}))
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 12, "cols": 100}))
    html = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 12, "cols": 100}))

    class Meta:
        model = NotificationTemplate
        fields = ("event_type", "channel", "locale", "email_tracking")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        version = self.instance.current_version if self.instance.pk else None
        if version is not None:
            for field in ("subject", "body", "html"):
                self.fields[field].initial = getattr(version, field)

    def clean(self):
        cleaned = super().clean()
        try:
            sources_validate(**{f: cleaned.get(f, "") for f in ("subject", "body", "html")})
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field, errors)
        return cleaned


class TemplateVersionInline(admin.TabularInline):
    model = TemplateVersion
    fk_name = "template"
    extra = 0
    can_delete = False
    fields = ("number", "subject", "created_at", "created_by", "restored_from", "restore")
    readonly_fields = fields
    ordering = ("-number",)

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="restore")
    def restore(self, version):
        if version.template.current_version_id == version.pk:
            return "current"
        # A link to the confirmation page: the restore itself is its POST (forms cannot
        # nest inside the change form, and a GET must change nothing).
        url = reverse("admin:templating_notificationtemplate_restore", args=[version.template_id, version.pk])
        return format_html('<a class="button" href="{}">Restore as new version…</a>', url)


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    form = TemplateForm
    list_display = ("id", "event_type", "channel", "locale", "version_number", "updated_at", "preview_link")
    list_filter = ("channel", "locale", "event_type")
    inlines = [TemplateVersionInline]

    def get_readonly_fields(self, request, obj=None):
        return ("event_type", "channel", "locale") if obj else ()

    @admin.display(description="version")
    def version_number(self, obj):
        return obj.current_version.number if obj.current_version_id else None

    @admin.display(description="preview")
    def preview_link(self, obj):
        return format_html(
            '<a href="{}">preview</a>', reverse("admin:templating_notificationtemplate_preview", args=[obj.pk])
        )

    def save_model(self, request, obj, form, change):
        sources = {f: form.cleaned_data.get(f, "") for f in ("subject", "body", "html")}
        if change:
            current = obj.current_version
            if current is None or any(getattr(current, f) != v for f, v in sources.items()):
                template_update(template=obj, **sources, created_by=request.user.get_username())
            if "email_tracking" in form.changed_data:
                template_email_tracking_set(template=obj, email_tracking=form.cleaned_data["email_tracking"])
        else:
            created = template_create(
                event_type=obj.event_type,
                channel=obj.channel,
                locale=obj.locale,
                **sources,
                created_by=request.user.get_username(),
                email_tracking=form.cleaned_data.get("email_tracking"),
            )
            obj.pk = created.pk

    def get_urls(self):
        return [
            path(
                "<int:template_id>/restore/<int:version_id>/",
                self.admin_site.admin_view(self.restore_view),
                name="templating_notificationtemplate_restore",
            ),
            path(
                "<int:template_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="templating_notificationtemplate_preview",
            ),
            *super().get_urls(),
        ]

    def restore_view(self, request, template_id, version_id):
        """GET: a confirmation page; POST (CSRF-checked by admin_view): the restore."""
        if not self.has_change_permission(request):
            return redirect("admin:index")
        version = get_object_or_404(
            TemplateVersion.objects.select_related("template"), pk=version_id, template_id=template_id
        )
        if request.method != "POST":
            context = {
                **self.admin_site.each_context(request),
                "title": f"Restore version {version.number} of {version.template}?",
                "version": version,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/templating/restore_confirm.html", context)
        try:
            new = template_restore(version=version, created_by=request.user.get_username())
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.WARNING)
        else:
            self.message_user(request, f"Version {version.number} restored as version {new.number}.")
        return redirect("admin:templating_notificationtemplate_change", template_id)

    def preview_view(self, request, template_id):
        template = get_object_or_404(NotificationTemplate.objects.select_related("event_type"), pk=template_id)
        rendered = template_render(
            event_type=template.event_type,
            channel=template.channel,
            locale=template.locale,
            context=sample_context(template.event_type, recipient=request.user),
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview of {template}",
            "template_obj": template,
            "rendered": rendered,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/templating/preview.html", context)


@admin.register(TemplateVersion)
class TemplateVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "template", "number", "created_at", "created_by", "restored_from")
    list_filter = ("template__channel",)
    readonly_fields = ("template", "number", "subject", "body", "html", "created_at", "created_by", "restored_from")
    actions = ["restore"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Restore the selected version (as a new version)")
    def restore(self, request, queryset):
        restored = 0
        for version in queryset.select_related("template"):
            try:
                template_restore(version=version, created_by=request.user.get_username())
                restored += 1
            except ValidationError:
                continue
        self.message_user(request, f"Restored {restored} versions.")
