"""OpenAPI: the API key scheme, the error envelope, and a shorthand that documents a
view method's request, answer and error answers in one decorator."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

from .idempotency import HEADER, REPLAY_HEADER


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.common.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "nsk_<prefix>_<secret>",
            "description": "A service's API key (`manage.py create_api_key`), with scopes.",
        }


class ErrorBody(serializers.Serializer):
    code = serializers.CharField(help_text="snake_case, e.g. not_found, throttled")
    message = serializers.CharField()
    details = serializers.DictField(help_text="Per field messages for 400; retry_after for 429.")


class ErrorEnvelope(serializers.Serializer):
    error = ErrorBody()


_DESCRIPTIONS = {
    400: "Invalid input; details name each bad field.",
    401: "No or invalid credentials.",
    403: "Not allowed (missing scope, or not a person).",
    404: "Not found (or not yours).",
    409: "Conflict (e.g. the same Idempotency-Key is still in flight).",
    413: "Request body too large.",
    422: "Idempotency-Key reused with another body.",
    429: "Throttled; see Retry-After.",
    503: "Temporarily unavailable (the database or another dependency is down, or not configured); see Retry-After.",
}
# 503: PostgreSQL refused the connection (apps/common/errors.py), on any endpoint.
ALWAYS = (401, 403, 429, 503)


def error_responses(*codes) -> dict:
    return {code: OpenApiResponse(ErrorEnvelope, description=_DESCRIPTIONS[code]) for code in (*codes, *ALWAYS)}


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Replays the first answer for 24 h for the same body; another body answers 422.",
    type=str,
)


def api_schema(*, responses, request=None, errors=(), idempotent=False, **kwargs):
    """extend_schema with the error envelope for the given codes (plus 401, 403, 429,
    503, and 413 where the operation takes a body).
    `responses` is a serializer (for the documented success code) or a {code: ...} dict."""
    if not isinstance(responses, dict):
        responses = {200: responses}
    responses = {**responses, **error_responses(*errors)}
    if request is not None:
        # Any body can be larger than MAX_REQUEST_BYTES (apps/common/middleware.py).
        responses.update(error_responses(413))
    parameters = kwargs.pop("parameters", [])
    if idempotent:
        parameters = [*parameters, IDEMPOTENCY_PARAMETER]
        responses.update(error_responses(400, 409, 422))
        success = min(code for code in responses if code < 300)
        responses[success] = OpenApiResponse(
            responses[success],
            description=f"Accepted. A replay carries `{REPLAY_HEADER}: true`.",
        )
    return extend_schema(request=request, responses=responses, parameters=parameters, **kwargs)


def results_of(name: str, item) -> serializers.Serializer:
    """A `{"results": [...]}` answer."""
    return inline_serializer(name, fields={"results": item(many=True)})


class AutoSchema(openapi.AutoSchema):
    """Names a view's nested serializers after the view: `EventPublishApi.Input` →
    `EventPublishInput`, so the many `Input`s and `Output`s stay distinct components.
    Lists only the auth schemes a view accepts: none for an open view, no API key for
    a person's view, only the API key for a service's own."""

    def get_auth(self):
        from .permissions import IsPerson, IsService

        permissions = self.view.get_permissions()
        if not permissions:
            return []
        auths = super().get_auth()
        if any(isinstance(permission, IsPerson) for permission in permissions):
            auths = [auth for auth in auths if ApiKeyScheme.name not in auth]
        if any(isinstance(permission, IsService) for permission in permissions):
            auths = [auth for auth in auths if ApiKeyScheme.name in auth]
        return auths

    def get_serializer_name(self, serializer, direction):
        parts = serializer.__class__.__qualname__.split(".")
        if len(parts) >= 2 and parts[-2] != "<locals>":
            return parts[-2].removesuffix("Api") + parts[-1]
        return super().get_serializer_name(serializer, direction)
