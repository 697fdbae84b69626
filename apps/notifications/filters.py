import django_filters

from .models import UserNotification


class InboxFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[("unread", "unread"), ("read", "read"), ("all", "all")], method="filter_status"
    )
    # A choice, not a BooleanFilter: that one quietly ignores values it cannot read.
    archived = django_filters.ChoiceFilter(choices=[("true", "true"), ("false", "false")], method="filter_archived")
    event_type = django_filters.CharFilter(field_name="event__event_type__key")

    class Meta:
        model = UserNotification
        fields = []

    def filter_status(self, queryset, name, value):
        if value == "unread":
            return queryset.filter(read_at__isnull=True)
        if value == "read":
            return queryset.filter(read_at__isnull=False)
        return queryset

    def filter_archived(self, queryset, name, value):
        return queryset.filter(archived_at__isnull=value != "true")

    @staticmethod
    def hide_archived(queryset):
        """Archived items are hidden unless asked for."""
        return queryset.filter(archived_at__isnull=True)

    @classmethod
    def is_unfiltered(cls, query_params) -> bool:
        return not query_params.keys() & cls.base_filters.keys()

    @property
    def qs(self):
        queryset = super().qs
        if not self.form.cleaned_data.get("archived"):
            queryset = self.hide_archived(queryset)
        return queryset
