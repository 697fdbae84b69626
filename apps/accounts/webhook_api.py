"""A person's webhook endpoints. The `whsec_` secret is shown on create and on rotate
only: the receiver stores it, this API never shows it again."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.permissions import IsPerson
from apps.common.schema import api_schema, results_of

from .selectors import webhook_endpoint_get, webhook_endpoint_list
from .services import webhook_endpoint_create, webhook_endpoint_delete, webhook_endpoint_rotate_secret
from .validators import validate_outbound_url


class WebhookEndpointOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    previous_secret_expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class WebhookEndpointWithSecret(WebhookEndpointOutput):
    secret = serializers.CharField()


class WebhookEndpointListApi(APIView):
    permission_classes = [IsPerson]

    @extend_schema_serializer(component_name="WebhookEndpointInput")
    class Input(serializers.Serializer):
        url = serializers.CharField(max_length=2048, validators=[validate_outbound_url])
        description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @api_schema(
        responses=results_of("WebhookEndpointList", WebhookEndpointOutput), operation_id="webhook_endpoints_list"
    )
    def get(self, request):
        endpoints = webhook_endpoint_list(user=request.user)
        return Response({"results": WebhookEndpointOutput(endpoints, many=True).data})

    @api_schema(request=Input, responses={201: WebhookEndpointWithSecret}, errors=(400,))
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(user=request.user, **data.validated_data)
        return Response(WebhookEndpointWithSecret(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailApi(APIView):
    permission_classes = [IsPerson]

    @api_schema(responses=WebhookEndpointOutput, errors=(404,))
    def get(self, request, endpoint_id):
        return Response(WebhookEndpointOutput(webhook_endpoint_get(user=request.user, endpoint_id=endpoint_id)).data)

    @api_schema(responses={204: None}, errors=(404,))
    def delete(self, request, endpoint_id):
        webhook_endpoint_delete(endpoint=webhook_endpoint_get(user=request.user, endpoint_id=endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateApi(APIView):
    permission_classes = [IsPerson]

    @api_schema(request=None, responses=WebhookEndpointWithSecret, errors=(404,))
    def post(self, request, endpoint_id):
        endpoint = webhook_endpoint_get(user=request.user, endpoint_id=endpoint_id)
        endpoint = webhook_endpoint_rotate_secret(endpoint=endpoint)
        return Response(WebhookEndpointWithSecret(endpoint).data)
