"""GET/POST/DELETE /api/v1/users/{id}/subscriptions/: a service manages a person's
subscriptions (scope users:write), e.g. to event types people may not subscribe to
themselves: a topic list the service keeps."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.channels import PERSON_CHANNEL_CHOICES, Channel
from apps.common.models import ApiKeyScope
from apps.common.permissions import service_scope
from apps.common.schema import api_schema, results_of
from apps.events.selectors import event_type_list

from .api import SubjectField, SubscriptionOutput
from .selectors import subscription_list
from .services import subscription_ensure, subscriptions_delete


class UserSubscriptionListApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.USERS_WRITE)]

    class Input(serializers.Serializer):
        event_type = serializers.SlugRelatedField(slug_field="key", queryset=event_type_list())
        channel = serializers.ChoiceField(choices=PERSON_CHANNEL_CHOICES)
        enabled = serializers.BooleanField(required=False, default=True)
        subject = SubjectField(required=False, allow_null=True)

    class DeleteInput(serializers.Serializer):
        event_type = serializers.SlugRelatedField(slug_field="key", queryset=event_type_list())
        channel = serializers.ChoiceField(choices=Channel.choices, required=False)
        subject_type = serializers.CharField(required=False, max_length=100)
        subject_id = serializers.CharField(required=False, max_length=64)

        def validate(self, attrs):
            if bool(attrs.get("subject_type")) != bool(attrs.get("subject_id")):
                raise serializers.ValidationError("subject_type and subject_id go together.")
            return attrs

    @api_schema(
        responses=results_of("UserSubscriptionList", SubscriptionOutput),
        errors=(404,),
        operation_id="users_subscriptions_list",
    )
    def get(self, request, user_id):
        user = get_object_or_404(get_user_model(), pk=user_id)
        return Response({"results": SubscriptionOutput(subscription_list(user=user), many=True).data})

    @api_schema(
        request=Input,
        responses={201: SubscriptionOutput, 200: SubscriptionOutput},
        errors=(400, 404),
        description=(
            "Subscribe the person to any event type (and subject). An existing one is updated and answers 200; "
            "it is the service's from then on. A subscription for any subject takes back the person's earlier "
            "removal of it."
        ),
    )
    def post(self, request, user_id):
        user = get_object_or_404(get_user_model(), pk=user_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        payload = data.validated_data
        subject = payload.get("subject") or {}
        subscription, created = subscription_ensure(
            user=user,
            event_type=payload["event_type"],
            channel=payload["channel"],
            enabled=payload["enabled"],
            subject_type=subject.get("type", ""),
            subject_id=subject.get("id", ""),
        )
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(SubscriptionOutput(subscription).data, status=answer)

    @api_schema(
        responses=inline_serializer("SubscriptionsDeleted", fields={"deleted": serializers.IntegerField()}),
        errors=(400, 404),
        parameters=[
            OpenApiParameter("event_type", str, required=True, description="The event type's key."),
            OpenApiParameter("channel", str, enum=Channel.values, description="Only this channel (else all)."),
            OpenApiParameter("subject_type", str, description="With subject_id: that subject's subscriptions."),
            OpenApiParameter("subject_id", str, description="Without both: the ones for any subject."),
        ],
        description="Remove the person's subscriptions to an event type. Removing none is not an error.",
    )
    def delete(self, request, user_id):
        user = get_object_or_404(get_user_model(), pk=user_id)
        data = self.DeleteInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        query = data.validated_data
        queryset = subscription_list(user=user).filter(
            event_type=query["event_type"],
            subject_type=query.get("subject_type", ""),
            subject_id=query.get("subject_id", ""),
        )
        if "channel" in query:
            queryset = queryset.filter(channel=query["channel"])
        return Response({"deleted": subscriptions_delete(queryset=queryset)})
