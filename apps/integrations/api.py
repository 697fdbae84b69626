"""A service's status webhook endpoints (`/api/v1/status-webhooks/`), for API keys only.
The `whsec_` secret is shown once, on create: the receiver stores it to verify the
Standard Webhooks signature; this API never shows it again."""

from drf_spectacular.utils import OpenApiCallback, extend_schema, extend_schema_serializer
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


class StatusChangeRecipient(serializers.Serializer):
    user_id = serializers.IntegerField(allow_null=True, help_text="Null for an address that is no user.")
    username = serializers.CharField(allow_null=True)
    address = serializers.CharField(allow_null=True, help_text="The email address or number of a non-user.")


class StatusChange(serializers.Serializer):
    id = serializers.CharField(help_text="`dse_<n>`: the change's own id, the same in every retry.")
    send_id = serializers.IntegerField(allow_null=True, help_text="The direct send's id; null for a published event.")
    event_id = serializers.IntegerField(help_text="The published event's id (a send's own event for a send).")
    delivery_id = serializers.IntegerField()
    channel = serializers.CharField()
    recipient = StatusChangeRecipient()
    status = serializers.CharField(
        help_text="The delivery's new status (pending, sent, delivered, failed, dead, cancelled, deferred, held, ...) "
        "or the provider's later answer (opened, bounced, ...)."
    )
    at = serializers.DateTimeField()


class StatusChangesPayload(serializers.Serializer):
    type = serializers.ChoiceField(choices=["delivery.status_changes"])
    data = StatusChange(many=True, help_text="1 to 100 changes, oldest first.")


STATUS_CHANGES_CALLBACK = OpenApiCallback(
    name="statusChanges",
    path="{$request.body#/url}",
    decorator=extend_schema(
        summary="Delivery status changes of the key's sends and events",
        description="Signed per Standard Webhooks: `webhook-id` (the batch's id, the same when a failed batch "
        "comes again: drop a repeat), `webhook-timestamp` (Unix seconds) and `webhook-signature` "
        '(`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the secret). Answer 2xx to take the '
        "batch; anything else (or no answer within the deadline) and the same batch comes again after a backoff "
        "that doubles per failure.",
        request=StatusChangesPayload,
        responses={200: None},
    ),
)


class StatusWebhookListApi(APIView):
    permission_classes = [IsService]

    @extend_schema_serializer(component_name="StatusWebhookInput")
    class Input(serializers.Serializer):
        url = serializers.CharField(max_length=2048, validators=[validate_outbound_url])

    @api_schema(responses=results_of("StatusWebhookList", StatusWebhookOutput), operation_id="status_webhooks_list")
    def get(self, request):
        endpoints = status_webhook_list(api_key=request.user.api_key)
        return Response({"results": StatusWebhookOutput(endpoints, many=True).data})

    @api_schema(
        request=Input, responses={201: StatusWebhookWithSecret}, errors=(400,), callbacks=[STATUS_CHANGES_CALLBACK]
    )
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
