from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.renderers import JSONRenderer

from apps.common.parsers import JSONParser
from apps.common.schema import api_schema


class TokenObtainApi(ObtainAuthToken):
    """`{"username", "password"}` → `{"token"}`, JSON only."""

    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    @api_schema(
        request=AuthTokenSerializer,
        responses=inline_serializer("AuthToken", fields={"token": serializers.CharField()}),
        errors=(400,),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
