"""The catalogue of event types, as services manage it: GET/POST /api/v1/event-types/,
GET/PATCH /api/v1/event-types/{key}/. It lives with subscriptions because closing a
type to self-service takes back the subscriptions people made to it."""

from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.channels import PERSON_CHANNEL_CHOICES
from apps.common.models import ApiKeyScope
from apps.common.permissions import service_scope
from apps.common.priorities import PRIORITY_CHOICES
from apps.common.schema import api_schema, results_of
from apps.events.event_types import event_type_create
from apps.events.models import WEEK
from apps.events.selectors import event_type_list

from .services import event_type_update_closing_access
from .throttles import DIGEST, HOLD


class EventTypeOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    critical = serializers.BooleanField()
    default_channels = serializers.ListField(child=serializers.CharField())
    default_priority = serializers.CharField()
    self_service = serializers.BooleanField()
    batch_window_seconds = serializers.IntegerField(allow_null=True)
    batch_key = serializers.CharField()
    batch_noun = serializers.CharField()
    throttle_limit = serializers.IntegerField(allow_null=True)
    throttle_window_seconds = serializers.IntegerField()
    throttle_overflow = serializers.CharField()


BATCH_WINDOW_HELP = (
    "Collapse a burst: the first event of a batch key opens a window of this many seconds per recipient, the "
    "key's later events join it, and when it closes each recipient gets one notification per channel for all "
    "of them. Null: no batching. Ignored for critical types."
)
THROTTLE_HELP = (
    "At most this many deliveries of the type per recipient and channel in each window of "
    "throttle_window_seconds; the rest are held (throttle_overflow). Null: no limit. Critical types pass."
)
BATCH_KEY_HELP = "The data field whose value groups events into one batch; empty: the event's subject."


class BatchAndThrottleInput(serializers.Serializer):
    batch_window_seconds = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=WEEK, help_text=BATCH_WINDOW_HELP
    )
    batch_key = serializers.RegexField(
        r"^[A-Za-z0-9_]*$", required=False, allow_blank=True, max_length=100, help_text=BATCH_KEY_HELP
    )
    batch_noun = serializers.CharField(
        required=False, allow_blank=True, max_length=60, help_text='What a batch counts, e.g. "comments".'
    )
    throttle_limit = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=100_000, help_text=THROTTLE_HELP
    )
    throttle_window_seconds = serializers.IntegerField(required=False, min_value=1, max_value=WEEK)
    throttle_overflow = serializers.ChoiceField(
        choices=[HOLD, DIGEST], required=False, help_text="Over the limit: held for the next window, or digested."
    )


SELF_SERVICE_HELP = (
    "People may subscribe themselves to it (POST /api/v1/subscriptions/). When false (the default), only "
    "services subscribe people (/api/v1/users/{id}/subscriptions/): for events whose data is meant for "
    "their subject alone."
)


class EventTypeListApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.TEMPLATES_WRITE)]

    class Input(BatchAndThrottleInput):
        key = serializers.RegexField(r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        critical = serializers.BooleanField(required=False, default=False)
        default_channels = serializers.ListField(
            child=serializers.ChoiceField(choices=PERSON_CHANNEL_CHOICES), required=False, default=list, max_length=10
        )
        # Omitted: critical for a critical type, else normal.
        default_priority = serializers.ChoiceField(choices=PRIORITY_CHOICES, required=False)
        self_service = serializers.BooleanField(required=False, default=False, help_text=SELF_SERVICE_HELP)

        def validate_key(self, value):
            if event_type_list().filter(key=value).exists():
                raise serializers.ValidationError("An event type with this key exists.")
            return value

    @api_schema(responses=results_of("EventTypeList", EventTypeOutput), operation_id="event_types_list")
    def get(self, request):
        return Response({"results": EventTypeOutput(event_type_list(), many=True).data})

    @api_schema(request=Input, responses={201: EventTypeOutput}, errors=(400,))
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        event_type = event_type_create(**data.validated_data)
        return Response(EventTypeOutput(event_type).data, status=status.HTTP_201_CREATED)


class EventTypeDetailApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.TEMPLATES_WRITE)]

    class Input(BatchAndThrottleInput):
        name = serializers.CharField(required=False, max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        critical = serializers.BooleanField(required=False)
        default_priority = serializers.ChoiceField(choices=PRIORITY_CHOICES, required=False)
        self_service = serializers.BooleanField(required=False, help_text=SELF_SERVICE_HELP)

    @api_schema(responses=EventTypeOutput, errors=(404,))
    def get(self, request, key):
        return Response(EventTypeOutput(get_object_or_404(event_type_list(), key=key)).data)

    @api_schema(request=Input, responses=EventTypeOutput, errors=(400, 404))
    def patch(self, request, key):
        event_type = get_object_or_404(event_type_list(), key=key)
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(
            EventTypeOutput(event_type_update_closing_access(event_type=event_type, data=data.validated_data)).data
        )
