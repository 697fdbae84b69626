"""GET/PUT /api/v1/preferences/ (the person) and /api/v1/users/{id}/preferences/ (a
service). PUT changes the fields it names and leaves the others."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Profile
from apps.accounts.validators import validate_timezone
from apps.common.channels import EXTERNAL_CHANNELS, PERSON_CHANNEL_CHOICES, Channel
from apps.common.models import ApiKeyScope
from apps.common.permissions import IsPerson, service_scope
from apps.common.schema import api_schema
from apps.events.selectors import event_type_list

from .models import DigestFrequency, SubscriptionOrigin
from .selectors import preference_get, subscription_channel_list
from .services import preference_update


class QuietHoursField(serializers.Serializer):
    start = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"])
    end = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"])

    def validate(self, attrs):
        if attrs["start"] == attrs["end"]:
            raise serializers.ValidationError("start and end must differ (null turns quiet hours off).")
        return attrs


class ChannelChoice(serializers.Serializer):
    event_type = serializers.SlugRelatedField(slug_field="key", queryset=event_type_list())
    channel = serializers.ChoiceField(choices=PERSON_CHANNEL_CHOICES)
    enabled = serializers.BooleanField()


class PreferencesInput(serializers.Serializer):
    subscriptions = ChannelChoice(many=True, required=False, max_length=1000)
    muted_channels = serializers.ListField(
        child=serializers.ChoiceField(choices=EXTERNAL_CHANNELS), required=False, max_length=len(EXTERNAL_CHANNELS)
    )
    mute_until = serializers.DateTimeField(required=False, allow_null=True)
    quiet_hours = QuietHoursField(required=False, allow_null=True)
    timezone = serializers.CharField(required=False, max_length=64, validators=[validate_timezone])
    digest = serializers.ChoiceField(choices=DigestFrequency.choices, required=False)
    digest_channels = serializers.DictField(
        child=serializers.ChoiceField(choices=DigestFrequency.choices), required=False
    )

    def validate_digest_channels(self, value):
        unknown = sorted(set(value) - set(EXTERNAL_CHANNELS))
        if unknown:
            raise serializers.ValidationError(f"Not channels with digests: {', '.join(unknown)}.")
        return value

    def to_service_data(self, validated: dict | None = None) -> dict:
        """The service's arguments from validated input (this serializer's own, or the
        value it validated as a nested field)."""
        data = dict(self.validated_data if validated is None else validated)
        if "quiet_hours" in data:
            quiet = data.pop("quiet_hours") or {}
            data["quiet_start"], data["quiet_end"] = quiet.get("start"), quiet.get("end")
        if "muted_channels" in data:
            data["muted_channels"] = list(dict.fromkeys(data["muted_channels"]))
        return data


class ChannelChoiceOutput(serializers.Serializer):
    event_type = serializers.CharField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()
    default = serializers.BooleanField(help_text="Not chosen by the person: the event type's default.")


class QuietHoursOutput(serializers.Serializer):
    start = serializers.CharField(help_text="HH:MM")
    end = serializers.CharField(help_text="HH:MM")


class PreferencesOutput(serializers.Serializer):
    subscriptions = ChannelChoiceOutput(many=True)
    muted_channels = serializers.ListField(child=serializers.ChoiceField(choices=EXTERNAL_CHANNELS))
    mute_until = serializers.DateTimeField(allow_null=True)
    quiet_hours = QuietHoursOutput(allow_null=True)
    timezone = serializers.CharField()
    digest = serializers.ChoiceField(choices=DigestFrequency.choices)
    digest_channels = serializers.DictField(child=serializers.ChoiceField(choices=DigestFrequency.choices))


def preferences_output(user) -> dict:
    preference = preference_get(user=user)
    profile = Profile.objects.filter(user=user).first()
    quiet = None
    if preference.quiet_start is not None and preference.quiet_end is not None:
        quiet = {"start": preference.quiet_start.strftime("%H:%M"), "end": preference.quiet_end.strftime("%H:%M")}
    return {
        "subscriptions": [
            {"event_type": s.event_type.key, "channel": s.channel, "enabled": s.enabled, "default": s.is_default}
            for s in subscription_channel_list(user=user)
        ],
        "muted_channels": preference.muted_channels,
        "mute_until": serializers.DateTimeField().to_representation(preference.mute_until)
        if preference.mute_until
        else None,
        "quiet_hours": quiet,
        "timezone": profile.timezone if profile else "UTC",
        "digest": preference.digest,
        "digest_channels": preference.digest_channels,
    }


def _put(request, user, origin):
    data = PreferencesInput(data=request.data)
    data.is_valid(raise_exception=True)
    preference_update(user=user, data=data.to_service_data(), origin=origin)
    return Response(preferences_output(user))


class PreferencesApi(APIView):
    permission_classes = [IsPerson]

    @api_schema(responses=PreferencesOutput)
    def get(self, request):
        return Response(preferences_output(request.user))

    @api_schema(
        request=PreferencesInput,
        responses=PreferencesOutput,
        errors=(400, 404),
        description=(
            "Turning a subscription on (or making one) follows the rule of POST /api/v1/subscriptions/: 403 for an "
            "event type that is not self-service, and nothing is changed. Turning one off is always allowed."
        ),
    )
    def put(self, request):
        return _put(request, request.user, SubscriptionOrigin.PERSON)


class UserPreferencesApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.USERS_WRITE)]

    @api_schema(responses=PreferencesOutput, errors=(404,))
    def get(self, request, user_id):
        return Response(preferences_output(get_object_or_404(get_user_model(), pk=user_id)))

    @api_schema(request=PreferencesInput, responses=PreferencesOutput, errors=(400, 404))
    def put(self, request, user_id):
        return _put(request, get_object_or_404(get_user_model(), pk=user_id), SubscriptionOrigin.SERVICE)
