from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.channels import PERSON_CHANNEL_CHOICES
from apps.common.permissions import IsPerson
from apps.common.schema import api_schema, results_of
from apps.events.selectors import event_type_list

from .models import SubscriptionOrigin
from .selectors import subscription_list
from .services import subscription_create, subscription_delete, subscription_set_enabled


class SubjectField(serializers.Serializer):
    type = serializers.CharField(max_length=100)
    id = serializers.CharField(max_length=64)


class SubscriptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_type = serializers.CharField(source="event_type.key")
    channel = serializers.CharField()
    enabled = serializers.BooleanField()
    subject = serializers.SerializerMethodField()
    origin = serializers.ChoiceField(
        choices=SubscriptionOrigin.choices, help_text="Who made it: the person, a service, or the defaults."
    )
    created_at = serializers.DateTimeField()

    def get_subject(self, obj) -> dict | None:
        return {"type": obj.subject_type, "id": obj.subject_id} if obj.subject_type else None


class SubscriptionListApi(APIView):
    permission_classes = [IsPerson]

    class Input(serializers.Serializer):
        event_type = serializers.SlugRelatedField(slug_field="key", queryset=event_type_list())
        channel = serializers.ChoiceField(choices=PERSON_CHANNEL_CHOICES)
        enabled = serializers.BooleanField(required=False, default=True)
        subject = SubjectField(required=False, allow_null=True)

    @api_schema(responses=results_of("SubscriptionList", SubscriptionOutput), operation_id="subscriptions_list")
    def get(self, request):
        return Response({"results": SubscriptionOutput(subscription_list(user=request.user), many=True).data})

    @api_schema(
        request=Input,
        responses={201: SubscriptionOutput},
        errors=(400, 404, 409),
        description=(
            "Subscribe yourself. Only to self-service event types (else 403: a service subscribes people to the "
            "others) and, with a `subject`, only to one you may see (else 404, also for an unknown subject type)."
        ),
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        payload = data.validated_data
        subject = payload.get("subject") or {}
        subscription = subscription_create(
            user=request.user,
            event_type=payload["event_type"],
            channel=payload["channel"],
            enabled=payload["enabled"],
            subject_type=subject.get("type", ""),
            subject_id=subject.get("id", ""),
        )
        return Response(SubscriptionOutput(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailApi(APIView):
    permission_classes = [IsPerson]

    class Input(serializers.Serializer):
        enabled = serializers.BooleanField()

    @api_schema(responses=SubscriptionOutput, errors=(404,))
    def get(self, request, subscription_id):
        subscription = get_object_or_404(subscription_list(user=request.user), pk=subscription_id)
        return Response(SubscriptionOutput(subscription).data)

    @api_schema(
        request=Input,
        responses=SubscriptionOutput,
        errors=(400, 404),
        description=(
            "Only `enabled` changes. Switching on one of your own asks the rule of POST again (403/404): "
            "the event type or subject may have been closed since."
        ),
    )
    def patch(self, request, subscription_id):
        subscription = get_object_or_404(subscription_list(user=request.user), pk=subscription_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = subscription_set_enabled(subscription=subscription, enabled=data.validated_data["enabled"])
        return Response(SubscriptionOutput(subscription).data)

    @api_schema(responses={204: None}, errors=(404,))
    def delete(self, request, subscription_id):
        subscription = get_object_or_404(subscription_list(user=request.user), pk=subscription_id)
        subscription_delete(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)
