"""A person's mobile devices: the Firebase Cloud Messaging registration tokens their app
installs got from the FCM SDK, for the `mobile_push` channel."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.permissions import IsPerson
from apps.common.schema import api_schema, results_of

from .models import DevicePlatform
from .registration_api import registration_response, registration_responses
from .selectors import device_get, device_list
from .services import device_delete, device_register


class DeviceOutput(serializers.Serializer):
    id = serializers.IntegerField()
    token = serializers.CharField()
    platform = serializers.ChoiceField(choices=DevicePlatform.choices)
    name = serializers.CharField()
    created_at = serializers.DateTimeField()


class DeviceListApi(APIView):
    permission_classes = [IsPerson]

    @extend_schema_serializer(component_name="DeviceInput")
    class Input(serializers.Serializer):
        # What FirebaseMessaging.getToken() gives: URL-safe characters and colons.
        token = serializers.RegexField(r"^[A-Za-z0-9_:\-.]{20,4096}$", max_length=4096)
        platform = serializers.ChoiceField(choices=DevicePlatform.choices, default=DevicePlatform.ANDROID)
        name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    @api_schema(responses=results_of("DeviceList", DeviceOutput), operation_id="devices_list")
    def get(self, request):
        return Response({"results": DeviceOutput(device_list(user=request.user), many=True).data})

    @api_schema(
        request=Input,
        responses=registration_responses(DeviceOutput, updated="platform and name updated"),
        errors=(400,),
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        device, created = device_register(user=request.user, **data.validated_data)
        return registration_response(DeviceOutput, device, created=created)


class DeviceDetailApi(APIView):
    permission_classes = [IsPerson]

    @api_schema(responses=DeviceOutput, errors=(404,))
    def get(self, request, device_id):
        return Response(DeviceOutput(device_get(user=request.user, device_id=device_id)).data)

    @api_schema(responses={204: None}, errors=(404,))
    def delete(self, request, device_id):
        device_delete(device=device_get(user=request.user, device_id=device_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
