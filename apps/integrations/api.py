"""A service's status webhook endpoints (`/api/v1/status-webhooks/`), for API keys only.
The `whsec_` secret is shown once, on create: the receiver stores it to verify the
Standard Webhooks signature; this API never shows it again."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.validators import validate_outbound_url
from apps.common.permissions import IsService
from apps.common.schema import api_schema, results_of

from .selectors import status_webhook_get, status_webhook_list
from .services import status_webhook_create, status_webhook_delete


class StatusWebhookOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    attempts = serializers.IntegerField(help_text="Failed tries of the batch being retried; 0 when none fails.")
    next_try_at = serializers.DateTimeField(allow_null=True, help_text="When a failed batch is tried again.")
    last_error = serializers.CharField(help_text="Why the batch being retried failed; empty when none fails.")
    created_at = serializers.DateTimeField()


class StatusWebhookWithSecret(StatusWebhookOutput):
    secret = serializers.CharField(help_text="`whsec_…`: verifies the signatures. Shown only now.")


class StatusWebhookListApi(APIView):
    permission_classes = [IsService]

    @extend_schema_serializer(component_name="StatusWebhookInput")
    class Input(serializers.Serializer):
        url = serializers.CharField(max_length=2048, validators=[validate_outbound_url])

    @api_schema(responses=results_of("StatusWebhookList", StatusWebhookOutput), operation_id="status_webhooks_list")
    def get(self, request):
        endpoints = status_webhook_list(api_key=request.user.api_key)
        return Response({"results": StatusWebhookOutput(endpoints, many=True).data})

    @api_schema(request=Input, responses={201: StatusWebhookWithSecret}, errors=(400,))
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = status_webhook_create(api_key=request.user.api_key, url=data.validated_data["url"])
        return Response(StatusWebhookWithSecret(endpoint).data, status=status.HTTP_201_CREATED)


class StatusWebhookDetailApi(APIView):
    permission_classes = [IsService]

    @api_schema(responses={204: None}, errors=(404,))
    def delete(self, request, endpoint_id):
        endpoint = status_webhook_get(api_key=request.user.api_key, endpoint_id=endpoint_id)
        status_webhook_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)
