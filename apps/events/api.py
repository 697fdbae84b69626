from django.contrib.auth import get_user_model
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.channels import Channel
from apps.common.models import ApiKeyScope
from apps.common.permissions import service_scope

from .selectors import event_type_list
from .services import event_publish, event_type_create


class EventTypeOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    critical = serializers.BooleanField()
    default_channels = serializers.ListField(child=serializers.CharField())


class EventTypeListApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.TEMPLATES_WRITE)]

    class Input(serializers.Serializer):
        key = serializers.RegexField(r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        critical = serializers.BooleanField(required=False, default=False)
        default_channels = serializers.ListField(
            child=serializers.ChoiceField(choices=Channel.choices), required=False, default=list, max_length=10
        )

        def validate_key(self, value):
            if event_type_list().filter(key=value).exists():
                raise serializers.ValidationError("An event type with this key exists.")
            return value

    def get(self, request):
        return Response({"results": EventTypeOutput(event_type_list(), many=True).data})

    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        event_type = event_type_create(**data.validated_data)
        return Response(EventTypeOutput(event_type).data, status=status.HTTP_201_CREATED)


class SubjectInput(serializers.Serializer):
    type = serializers.CharField(max_length=100)
    id = serializers.CharField(max_length=64)


class IdempotencyKeyReused(APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was used with another request body."
    default_code = "idempotency_key_reused"


def _same_event(event, payload, subject) -> bool:
    return (
        event.event_type_id == payload["event_type"].pk
        and event.data == payload["data"]
        and (event.subject_type, event.subject_id) == ((subject["type"], subject["id"]) if subject else ("", ""))
    )


class EventPublishApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.EVENTS_WRITE)]

    class Input(serializers.Serializer):
        event_type = serializers.SlugRelatedField(slug_field="key", queryset=event_type_list())
        subject = SubjectInput(required=False)
        actor = serializers.PrimaryKeyRelatedField(
            queryset=get_user_model().objects.all(), required=False, allow_null=True
        )
        data = serializers.DictField(required=False, default=dict)

    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        payload = data.validated_data
        subject = payload.get("subject")
        event, created = event_publish(
            event_type=payload["event_type"],
            data=payload["data"],
            subject=(subject["type"], subject["id"]) if subject else None,
            actor=payload.get("actor"),
            idempotency_key=request.headers.get("Idempotency-Key") or None,
        )
        if not created and not _same_event(event, payload, subject):
            raise IdempotencyKeyReused()
        body = {"id": event.pk, "event_type": event.event_type.key, "fanout_state": event.fanout_state}
        response = Response(body, status=status.HTTP_202_ACCEPTED)
        if not created:
            response["Idempotency-Replay"] = "true"
        return response
