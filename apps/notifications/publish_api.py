from django.contrib.auth import get_user_model
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.auth import ServicePrincipal
from apps.common.event_data import EventDataField
from apps.common.idempotency import idempotent
from apps.common.models import ApiKeyScope
from apps.common.permissions import service_scope
from apps.common.schema import api_schema
from apps.events.selectors import event_type_list

from .publish import event_publish


class SubjectInput(serializers.Serializer):
    type = serializers.CharField(max_length=100)
    id = serializers.CharField(max_length=64)


class EventPublishApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.EVENTS_WRITE)]

    class Input(serializers.Serializer):
        event_type = serializers.SlugRelatedField(slug_field="key", queryset=event_type_list())
        subject = SubjectInput(required=False)
        actor = serializers.PrimaryKeyRelatedField(
            queryset=get_user_model().objects.all(), required=False, allow_null=True
        )
        data = EventDataField(required=False, default=dict)

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        event_type = serializers.CharField()
        fanout_state = serializers.CharField()

    @api_schema(request=Input, responses={202: Output}, idempotent=True)
    @idempotent
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        payload = data.validated_data
        subject = payload.get("subject")
        event, _ = event_publish(
            event_type=payload["event_type"],
            data=payload["data"],
            subject=(subject["type"], subject["id"]) if subject else None,
            actor=payload.get("actor"),
            api_key=request.user.api_key if isinstance(request.user, ServicePrincipal) else None,
        )
        body = {"id": event.pk, "event_type": event.event_type.key, "fanout_state": event.fanout_state}
        return Response(self.Output(body).data, status=status.HTTP_202_ACCEPTED)
