"""What a person's "register this target" endpoint answers (a device, a browser's push
subscription): 201 when it is new, 200 when it was already there and got updated."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.response import Response


def registration_responses(output, *, updated: str) -> dict:
    """The documented answers; `updated` says what a repeat registration changes."""
    return {
        201: OpenApiResponse(output, description="Registered."),
        200: OpenApiResponse(output, description=f"Already registered ({updated})."),
    }


def registration_response(output, instance, *, created: bool) -> Response:
    return Response(output(instance).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
