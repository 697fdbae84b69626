"""A person's Web Push subscriptions, and the VAPID key their browser subscribes with."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_serializer, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.permissions import IsPerson
from apps.common.schema import api_schema, results_of

from .registration_api import registration_response, registration_responses
from .selectors import push_subscription_get, push_subscription_list
from .services import push_subscription_delete, push_subscription_register
from .validators import validate_outbound_url, validate_push_auth, validate_push_p256dh


class PushKeys(serializers.Serializer):
    p256dh = serializers.CharField(max_length=100, validators=[validate_push_p256dh])
    auth = serializers.CharField(max_length=50, validators=[validate_push_auth])


class PushSubscriptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    endpoint = serializers.CharField()
    keys = PushKeys(source="*")
    user_agent = serializers.CharField()
    created_at = serializers.DateTimeField()


class PushNotConfigured(APIException):
    status_code = 503
    default_detail = "Web push is not configured on this service."
    default_code = "unavailable"


class VapidPublicKeyApi(APIView):
    """The applicationServerKey for PushManager.subscribe(): public by nature."""

    permission_classes = [AllowAny]

    @api_schema(responses=inline_serializer("VapidPublicKey", {"public_key": serializers.CharField()}), errors=(503,))
    def get(self, request):
        if not settings.VAPID_PUBLIC_KEY:
            raise PushNotConfigured()
        return Response({"public_key": settings.VAPID_PUBLIC_KEY})


class PushSubscriptionListApi(APIView):
    permission_classes = [IsPerson]

    @extend_schema_serializer(component_name="PushSubscriptionInput")
    class Input(serializers.Serializer):
        # What the browser's PushSubscription.toJSON() gives.
        endpoint = serializers.CharField(max_length=2048, validators=[validate_outbound_url])
        keys = PushKeys()
        expirationTime = serializers.IntegerField(required=False, allow_null=True)  # noqa: N815 (the browser's name)

    @api_schema(
        responses=results_of("PushSubscriptionList", PushSubscriptionOutput), operation_id="push_subscriptions_list"
    )
    def get(self, request):
        subscriptions = push_subscription_list(user=request.user)
        return Response({"results": PushSubscriptionOutput(subscriptions, many=True).data})

    @api_schema(
        request=Input,
        responses=registration_responses(PushSubscriptionOutput, updated="keys updated"),
        errors=(400,),
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        payload = data.validated_data
        subscription, created = push_subscription_register(
            user=request.user,
            endpoint=payload["endpoint"],
            p256dh=payload["keys"]["p256dh"],
            auth=payload["keys"]["auth"],
            user_agent=request.headers.get("User-Agent", "")[:300],
        )
        return registration_response(PushSubscriptionOutput, subscription, created=created)


class PushSubscriptionDetailApi(APIView):
    permission_classes = [IsPerson]

    @api_schema(responses=PushSubscriptionOutput, errors=(404,))
    def get(self, request, subscription_id):
        subscription = push_subscription_get(user=request.user, subscription_id=subscription_id)
        return Response(PushSubscriptionOutput(subscription).data)

    @api_schema(responses={204: None}, errors=(404,))
    def delete(self, request, subscription_id):
        push_subscription_delete(subscription=push_subscription_get(user=request.user, subscription_id=subscription_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
