"""Direct sends for services: `/api/v1/notifications/` (one), `/bulk/` (many),
`/{id}/` (status with per-recipient, per-channel timelines) and `/{id}/cancel/`."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.channels import PERSON_CHANNEL_CHOICES, Channel
from apps.common.event_data import EventDataField
from apps.common.idempotency import idempotent
from apps.common.models import ApiKeyScope
from apps.common.permissions import service_scope
from apps.common.priorities import NORMAL, PRIORITY_CHOICES
from apps.common.schema import api_schema
from apps.events.selectors import event_type_list
from apps.templating.selectors import template_list

from .addresses import address_parse
from .selectors import direct_send_get, direct_send_items
from .send_status import direct_send_state
from .sends import direct_send_cancel, direct_sends_create

# auth.User ids are 32-bit.
MAX_USER_ID = 2**31 - 1
RECIPIENTS_SHOWN = 200


class EventTypeKeyField(serializers.SlugRelatedField):
    """An event type by key, looked up once per request however many items name it."""

    def to_internal_value(self, data):
        seen = self.context.setdefault("event_types_by_key", {})
        if not isinstance(data, str) or data not in seen:
            value = super().to_internal_value(data)
            if not isinstance(data, str):
                return value
            seen[data] = value
        return seen[data]


class RecipientField(serializers.Field):
    """A user id, or an address that is no user: `{"email": ...}` or `{"phone": ...}`."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            # Not self.fail: its message is formatted, and this one has braces.
            raise serializers.ValidationError('Give a user id, {"email": "..."} or {"phone": "+..."}.')
        if isinstance(data, int):
            if not 1 <= data <= MAX_USER_ID:
                raise serializers.ValidationError(f"A user id is between 1 and {MAX_USER_ID}.")
            return data
        try:
            address_parse(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        # Kept as given: the service parses it again (one rule for every caller).
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_USER_ID, "description": "A user id."},
            {
                "type": "object",
                "properties": {"email": {"type": "string", "format": "email"}},
                "required": ["email"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"phone": {"type": "string", "pattern": r"^\+[1-9]\d{6,14}$"}},
                "required": ["phone"],
                "additionalProperties": False,
            },
        ]
    }
)
class DocumentedRecipientField(RecipientField):
    pass


PREFERENCES_NOTE = (
    "Non-critical event types follow each person's preferences exactly as a subscriber fan-out does: "
    "a turned-off subscription to the event type on a channel (opt-out, one-click unsubscribe), a muted "
    "channel or mute-until cancel that delivery, a digest or quiet hours hold it, and an address on the "
    "suppression list (unsubscribed, bounced, spam report, STOP) cancels it; the status timeline says why. "
    "Only critical (transactional) event types pass all of them."
)


class SendInput(serializers.Serializer):
    event_type = EventTypeKeyField(
        slug_field="key", queryset=event_type_list(), required=False, help_text="Give this or `template`."
    )
    template = serializers.PrimaryKeyRelatedField(
        queryset=template_list(),
        required=False,
        help_text="A template id: sends its event type, on its channel unless `channels` are given. "
        "Each recipient gets the template's version for their locale (with the usual fallback).",
    )
    recipients = serializers.ListField(
        child=DocumentedRecipientField(),
        min_length=1,
        max_length=settings.NOTIFICATION_RECIPIENTS_MAX,
        help_text='User ids, or addresses that are no user: `{"email": ...}` (gets only the email channel) or '
        '`{"phone": "+E.164"}` (only SMS); an address gets no inbox item. Unknown ids and invalid '
        "addresses refuse the request (400) and are named. " + PREFERENCES_NOTE,
    )
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=PERSON_CHANNEL_CHOICES),
        required=False,
        min_length=1,
        max_length=len(Channel.choices),
        help_text="Exactly these channels; when absent, each recipient's enabled subscriptions decide.",
    )
    data = EventDataField(required=False, default=dict)
    priority = serializers.ChoiceField(choices=PRIORITY_CHOICES, required=False, default=NORMAL)
    scheduled_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Fan out at this time instead of now."
    )

    def validate(self, attrs):
        template = attrs.pop("template", None)
        if template is None:
            if "event_type" not in attrs:
                raise serializers.ValidationError({"event_type": ["Give `event_type` or `template`."]})
            return attrs
        if attrs.get("event_type", template.event_type) != template.event_type:
            raise serializers.ValidationError(
                {"template": [f"This template is for the event type '{template.event_type.key}'."]}
            )
        attrs["event_type"] = template.event_type
        attrs.setdefault("channels", [template.channel])
        return attrs


class SendAccepted(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class BulkAccepted(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField())
    results = SendAccepted(many=True)


class TimelineEntry(serializers.Serializer):
    type = serializers.CharField()
    at = serializers.DateTimeField()
    detail = serializers.JSONField()


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    channel = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    sent_at = serializers.DateTimeField(allow_null=True)
    events = TimelineEntry(many=True)


class RecipientOutput(serializers.Serializer):
    user_id = serializers.IntegerField(allow_null=True)
    address = serializers.CharField(allow_null=True, help_text="For an address recipient (no user).")
    notification_id = serializers.IntegerField(allow_null=True)
    deliveries = DeliveryOutput(many=True)


class SendOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    event_type = serializers.CharField()
    priority = serializers.CharField()
    channels = serializers.ListField(child=serializers.CharField(), allow_null=True)
    data = serializers.JSONField()
    scheduled_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    recipient_count = serializers.IntegerField()
    delivery_counts = serializers.DictField(child=serializers.IntegerField())
    recipients = RecipientOutput(many=True)
    recipients_truncated = serializers.BooleanField()


class CancelOutput(SendOutput):
    cancelled_deliveries = serializers.IntegerField()


def _accepted(sends) -> list[dict]:
    return [{"id": send.pk, "status": send.status} for send in sends]


class NotificationSendApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.NOTIFICATIONS_WRITE)]
    Input = SendInput
    Output = SendAccepted

    @api_schema(
        request=Input,
        responses={202: Output},
        idempotent=True,
        description="Notify named people or addresses. " + PREFERENCES_NOTE,
    )
    @idempotent
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            (send,) = direct_sends_create(caller=request.user, requests=[data.validated_data])
        except DjangoValidationError as exc:
            # Index 0 is this request: name the field instead.
            raise serializers.ValidationError({"recipients": exc.message_dict.get("0", exc.messages)}) from exc
        return Response(self.Output(_accepted([send])[0]).data, status=status.HTTP_202_ACCEPTED)


class NotificationBulkSendApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.NOTIFICATIONS_WRITE)]
    Output = BulkAccepted

    class Input(serializers.Serializer):
        notifications = SendInput(many=True, min_length=1, max_length=settings.NOTIFICATION_BULK_MAX)

    @api_schema(
        request=Input,
        responses={202: BulkAccepted},
        idempotent=True,
        description="Up to NOTIFICATION_BULK_MAX sends at once, all or nothing. " + PREFERENCES_NOTE,
    )
    @idempotent
    def post(self, request):
        data = self.Input(data=request.data, context={})
        data.is_valid(raise_exception=True)
        try:
            sends = direct_sends_create(caller=request.user, requests=data.validated_data["notifications"])
        except DjangoValidationError as exc:
            # Keyed by item index, like DRF's own errors for a list.
            raise serializers.ValidationError({"notifications": exc.message_dict}) from exc
        results = _accepted(sends)
        body = {"ids": [result["id"] for result in results], "results": results}
        return Response(self.Output(body).data, status=status.HTTP_202_ACCEPTED)


def _send_body(send) -> dict:
    items = direct_send_items(send=send, limit=RECIPIENTS_SHOWN)
    return {**direct_send_state(send=send, items=items), "recipients_truncated": send.recipient_count > len(items)}


class NotificationDetailApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.NOTIFICATIONS_WRITE)]
    Output = SendOutput

    @api_schema(responses=SendOutput, errors=(404,))
    def get(self, request, send_id):
        send = direct_send_get(caller=request.user, send_id=send_id)
        return Response(self.Output(_send_body(send)).data)


class NotificationCancelApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.NOTIFICATIONS_WRITE)]
    Output = CancelOutput

    @api_schema(responses=CancelOutput, errors=(404,))
    def post(self, request, send_id):
        send = direct_send_get(caller=request.user, send_id=send_id)
        cancelled = direct_send_cancel(send=send, by=str(request.user))
        send = direct_send_get(caller=request.user, send_id=send_id)
        return Response(self.Output({**_send_body(send), "cancelled_deliveries": cancelled}).data)
