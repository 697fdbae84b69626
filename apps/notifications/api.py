from datetime import UTC, datetime

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.links import link_or_empty
from apps.common.permissions import IsPerson
from apps.common.schema import api_schema

from . import services
from .filters import InboxFilter
from .models import UserNotification
from .selectors import inbox_item_rows, inbox_list, inbox_unread_count


class LinkField(serializers.CharField):
    """A stored link, shown only when it passes the link rule (rows older than the rule)."""

    def to_representation(self, value):
        return link_or_empty(value)


class InboxItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_type = serializers.CharField(source="event.event_type.key")
    title = serializers.CharField()
    body = serializers.CharField()
    data = serializers.JSONField(source="effective_data")
    url = LinkField()
    is_read = serializers.BooleanField()
    read_at = serializers.DateTimeField(allow_null=True)
    is_archived = serializers.BooleanField()
    archived_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


def _timestamp(value: datetime | None) -> str | None:
    # DateTimeField's output (UTC, "Z"), without its per-value settings lookups.
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def inbox_item_output(row: dict) -> dict:
    """InboxItemOutput of a row from inbox_item_rows, built directly: the list's answer
    without a serializer field call per attribute (the same JSON, tested side by side)."""
    return {
        "id": row["id"],
        "event_type": row["event_type"],
        "title": row["title"],
        "body": row["body"],
        "data": row["effective_data"],
        "url": link_or_empty(row["url"]),
        "is_read": row["read_at"] is not None,
        "read_at": _timestamp(row["read_at"]),
        "is_archived": row["archived_at"] is not None,
        "archived_at": _timestamp(row["archived_at"]),
        "created_at": _timestamp(row["created_at"]),
    }


class InboxPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def decode_cursor(self, request):
        # A cursor the client mangled is bad input (400), not a missing page (404).
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({"cursor": ["Invalid cursor."]}) from exc


class InboxListApi(generics.ListAPIView):
    permission_classes = [IsPerson]
    serializer_class = InboxItemOutput
    pagination_class = InboxPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = InboxFilter

    @api_schema(responses=InboxItemOutput(many=True), errors=(400,))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def filter_queryset(self, queryset):
        # Most loads ask for no filter: the filter form would be a tenth of the request.
        if InboxFilter.is_unfiltered(self.request.query_params):
            return InboxFilter.hide_archived(queryset)
        return super().filter_queryset(queryset)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(inbox_item_rows(self.filter_queryset(self.get_queryset())))
        return self.get_paginated_response([inbox_item_output(row) for row in page])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return UserNotification.objects.none()
        return inbox_list(user=self.request.user)


class UnreadCountApi(APIView):
    permission_classes = [IsPerson]

    class Output(serializers.Serializer):
        unread = serializers.IntegerField()

    @api_schema(responses=Output)
    def get(self, request):
        return Response(self.Output({"unread": inbox_unread_count(user=request.user)}).data)


def _item_action(service):
    class InboxItemActionApi(APIView):
        permission_classes = [IsPerson]
        serializer_class = InboxItemOutput

        @api_schema(request=None, responses=InboxItemOutput, errors=(404,))
        def post(self, request, notification_id):
            item = service(user=request.user, notification_id=notification_id)
            return Response(InboxItemOutput(item).data)

    InboxItemActionApi.__name__ = f"Inbox{service.__name__.title().replace('_', '')}Api"
    return InboxItemActionApi


InboxReadApi = _item_action(services.inbox_mark_read)
InboxUnreadApi = _item_action(services.inbox_mark_unread)
InboxArchiveApi = _item_action(services.inbox_archive)
InboxUnarchiveApi = _item_action(services.inbox_unarchive)


class InboxReadAllApi(APIView):
    permission_classes = [IsPerson]

    class Output(serializers.Serializer):
        updated = serializers.IntegerField()

    @api_schema(request=None, responses=Output)
    def post(self, request):
        return Response(self.Output({"updated": services.inbox_mark_all_read(user=request.user)}).data)
