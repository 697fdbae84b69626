from datetime import UTC, datetime

from django.db import connection
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.links import link_or_empty
from apps.common.permissions import IsPerson
from apps.common.schema import api_schema

from . import services
from .actions import inbox_actions
from .filters import InboxFilter
from .grouping import GROUP_ITEMS_MAX, inbox_lines
from .inbox_first_page import FirstPage
from .models import UserNotification
from .selectors import inbox_item_rows, inbox_unread_count, inbox_visible_list


class InboxActionOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["primary", "secondary"])
    label = serializers.CharField()
    url = serializers.CharField(help_text="https:, http: or relative; an action with any other link is left out.")


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
    snoozed_until = serializers.DateTimeField(
        allow_null=True, help_text="Set by a snooze; the item is listed again once this time has passed."
    )
    actions = InboxActionOutput(many=True, help_text="From `data.actions`: the primary action, then the secondary.")
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
        "snoozed_until": _timestamp(row["snoozed_until"]),
        "actions": inbox_actions(row["effective_data"]),
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


class InboxLineOutput(serializers.Serializer):
    key = serializers.CharField(help_text="Event type and subject; `item:<id>` for an item without a subject.")
    title = serializers.CharField(help_text='The item\'s title, or "3 × <event type>: <data.subject_title>".')
    size = serializers.IntegerField(help_text="How many items the line holds.")
    unread = serializers.IntegerField()
    items = InboxItemOutput(many=True, help_text=f"Newest first, at most {GROUP_ITEMS_MAX}.")


class InboxLinePagination(InboxPagination):
    """Cursor pages of grouped lines. A line is placed by its newest item, so the cursor
    holds that id; it goes forward only (`previous` is null)."""

    def paginate_lines(self, items, request):
        self.request = request
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        cursor = self.decode_cursor(request)
        before_id = None
        if cursor is not None:
            if cursor.reverse or not (cursor.position or "").isdigit():
                raise ValidationError({"cursor": ["Invalid cursor."]})
            before_id = int(cursor.position)
        lines, has_more = inbox_lines(items, before_id=before_id, limit=self.page_size)
        self.next_position = str(lines[-1]["latest_id"]) if has_more else None
        return lines

    def get_next_link(self):
        if self.next_position is None:
            return None
        return self.encode_cursor(Cursor(offset=0, reverse=False, position=self.next_position))

    def get_previous_link(self):
        return None


GROUP_PARAMETER = OpenApiParameter(
    "group",
    enum=["subject"],
    required=False,
    description="`subject`: the results are lines, one per event type and subject (InboxLineOutput), each "
    "with its items; the filters and the cursor work the same way.",
)


# An item, or with ?group=subject a line of items: one schema says both.
INBOX_RESULTS = PolymorphicProxySerializer(
    component_name="InboxResult",
    serializers=[InboxItemOutput, InboxLineOutput],
    resource_type_field_name=None,
    many=True,
)


class InboxListApi(generics.ListAPIView):
    permission_classes = [IsPerson]
    serializer_class = InboxItemOutput
    pagination_class = InboxPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = InboxFilter

    @api_schema(responses=INBOX_RESULTS, errors=(400,), parameters=[GROUP_PARAMETER])
    def get(self, request, *args, **kwargs):
        group = request.query_params.get("group")
        if group is None:
            return super().get(request, *args, **kwargs)
        if group != "subject":
            raise ValidationError({"group": ['The only grouping is "subject".']})
        paginator = InboxLinePagination()
        lines = paginator.paginate_lines(self.filter_queryset(self.get_queryset()), request)
        return paginator.get_paginated_response(InboxLineOutput(lines, many=True).data)

    def filter_queryset(self, queryset):
        # Most loads ask for no filter: the filter form would be a tenth of the request.
        if InboxFilter.is_unfiltered(self.request.query_params):
            return InboxFilter.hide_archived(queryset)
        return super().filter_queryset(queryset)

    def list(self, request, *args, **kwargs):
        first_page = InboxFilter.is_unfiltered(request.query_params) and (
            self.paginator.cursor_query_param not in request.GET
        )
        if first_page and connection.vendor == "postgresql":
            # Most loads: a statement compiled once (inbox_first_page.py). SQLite
            # (development) adapts the parameters as it compiles: the ORM serves it.
            rows = FirstPage(user_id=request.user.pk)
        else:
            rows = inbox_item_rows(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([inbox_item_output(row) for row in page])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return UserNotification.objects.none()
        return inbox_visible_list(user=self.request.user)


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


class InboxSnoozeApi(APIView):
    permission_classes = [IsPerson]

    class Input(serializers.Serializer):
        until = serializers.DateTimeField(help_text="When the item comes back (unread); in the future, with a zone.")

    @api_schema(request=Input, responses=InboxItemOutput, errors=(400, 404))
    def post(self, request, notification_id):
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        item = services.inbox_snooze(
            user=request.user, notification_id=notification_id, until=payload.validated_data["until"]
        )
        return Response(InboxItemOutput(item).data)
