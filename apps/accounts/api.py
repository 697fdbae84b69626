from drf_spectacular.utils import inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.parsers import JSONParser
from apps.common.schema import api_schema

from .auth import PersonTokenAuthentication
from .tokens import person_token_issue, person_token_revoke


class SignInInput(AuthTokenSerializer):
    # Bounded like the User model's username, before anything reaches authenticate() and
    # the lock-out's records.
    username = serializers.CharField(max_length=150, write_only=True)
    password = serializers.CharField(max_length=1024, trim_whitespace=False, write_only=True)


class AuthTokenApi(APIView):
    """POST `{"username", "password"}` → `{"token"}`; DELETE revokes the token in use.

    Sign-in goes through django-axes: authenticate() gets the Django request, so that
    the lock-out (per username and per address) sees the attempt and AxesMiddleware turns
    a locked-out attempt into a 429 (apps/accounts/signin.py)."""

    authentication_classes = [PersonTokenAuthentication]
    throttle_classes = []
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    def perform_authentication(self, request):
        # Signing in takes no credentials: an expired token a client still sends along
        # must not turn its sign-in into a 401.
        if request.method == "DELETE":
            super().perform_authentication(request)

    @api_schema(
        request=SignInInput,
        responses=inline_serializer("AuthToken", fields={"token": serializers.CharField()}),
        errors=(400,),
        description="A person's token, valid for PERSON_TOKEN_TTL_SECONDS (default 14 days) and until the "
        "password changes. Too many wrong passwords for one username or from one address answer 429 "
        "with Retry-After until the cool-off ends, even for the right password.",
    )
    def post(self, request):
        data = SignInInput(data=request.data, context={"request": request._request})
        data.is_valid(raise_exception=True)
        return Response({"token": person_token_issue(user=data.validated_data["user"])})

    @api_schema(
        responses={204: None},
        description="Revokes the token this request is authenticated with; it answers 401 from then on.",
    )
    def delete(self, request):
        person_token_revoke(key=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
