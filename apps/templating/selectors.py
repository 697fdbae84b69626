from .models import NotificationTemplate, TemplateVersion


def template_list(*, event_type_key: str | None = None, channel: str | None = None, locale: str | None = None):
    queryset = NotificationTemplate.objects.select_related("event_type", "current_version")
    if event_type_key:
        queryset = queryset.filter(event_type__key=event_type_key)
    if channel:
        queryset = queryset.filter(channel=channel)
    if locale:
        queryset = queryset.filter(locale=locale)
    return queryset.order_by("id")


def template_version_list(*, template):
    return TemplateVersion.objects.filter(template=template).order_by("-number")
