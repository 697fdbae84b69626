"""People as services create and edit them: the account and, in the same request,
its preferences (so it lives above both accounts and subscriptions)."""

from django.db import transaction
from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.selectors import user_list
from apps.accounts.services import user_create, user_update
from apps.accounts.validators import validate_e164, validate_locale, validate_slack_id, validate_timezone
from apps.common.models import ApiKeyScope
from apps.common.permissions import service_scope
from apps.common.schema import api_schema, results_of

from .models import SubscriptionOrigin
from .preferences_api import PreferencesInput
from .services import preference_update


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    phone = serializers.CharField(source="profile.phone")
    timezone = serializers.CharField(source="profile.timezone")
    locale = serializers.CharField(source="profile.locale")
    slack_id = serializers.CharField(source="profile.slack_id")
    date_joined = serializers.DateTimeField()


class _ProfileFields(serializers.Serializer):
    phone = serializers.CharField(required=False, allow_blank=True, max_length=20, validators=[validate_e164])
    timezone = serializers.CharField(required=False, max_length=64, validators=[validate_timezone])
    locale = serializers.CharField(required=False, max_length=16, validators=[validate_locale])
    # Where the `slack` channel posts for this person: a member id or a channel id.
    slack_id = serializers.CharField(required=False, allow_blank=True, max_length=32, validators=[validate_slack_id])


class UserCreateApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.USERS_WRITE)]

    class Input(_ProfileFields):
        username = serializers.RegexField(r"^[\w.@+-]+$", max_length=150)
        email = serializers.EmailField()
        password = serializers.CharField(required=False, write_only=True, min_length=8, max_length=128)
        preferences = PreferencesInput(required=False)

        def validate_username(self, value):
            if user_list().filter(username=value).exists():
                raise serializers.ValidationError("A user with that username already exists.")
            return value

    @api_schema(responses=results_of("UserList", UserOutput), operation_id="users_list")
    def get(self, request):
        users = user_list()[:200]
        return Response({"results": UserOutput(users, many=True).data})

    @api_schema(request=Input, responses={201: UserOutput}, errors=(400,))
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        preferences = fields.pop("preferences", None)
        with transaction.atomic():
            user = user_create(**fields)
            if preferences is not None:
                preference_update(
                    user=user,
                    data=data.fields["preferences"].to_service_data(preferences),
                    origin=SubscriptionOrigin.SERVICE,
                )
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)


class UserDetailApi(APIView):
    permission_classes = [service_scope(ApiKeyScope.USERS_WRITE)]

    class Input(_ProfileFields):
        email = serializers.EmailField(required=False)
        first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
        last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
        # A new password ends every token of the person (apps/accounts/tokens.py).
        password = serializers.CharField(required=False, write_only=True, min_length=8, max_length=128)

    @api_schema(responses=UserOutput, errors=(404,))
    def get(self, request, user_id):
        return Response(UserOutput(get_object_or_404(user_list(), pk=user_id)).data)

    @api_schema(request=Input, responses=UserOutput, errors=(400, 404))
    def patch(self, request, user_id):
        user = get_object_or_404(user_list(), pk=user_id)
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = user_update(user=user, data=data.validated_data)
        return Response(UserOutput(user_list().get(pk=user.pk)).data)
