"""GET /api/v1/inbox/stream/: Server-Sent Events, one `notification` event per new item.

Each open stream holds one server thread (and one Redis connection) for as long as it
is open, at most INBOX_STREAM_MAX_SECONDS: run the web with threads to spare
(gunicorn's gthread worker; see docs/operations.md).
"""

import json
import logging

import redis
from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.errors import error_response
from apps.common.permissions import IsPerson
from apps.common.schema import error_responses

from .live import inbox_stream_open

logger = logging.getLogger(__name__)


class EventStreamRenderer(renderers.BaseRenderer):
    """Lets a client ask for text/event-stream; errors before the stream starts are
    still the JSON envelope."""

    media_type = "text/event-stream"
    format = "event-stream"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if data is not None else b""


def _non_negative_int(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


class InboxStreamApi(APIView):
    permission_classes = [IsPerson]
    renderer_classes = [renderers.JSONRenderer, EventStreamRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response):  # an error before the stream: JSON envelope
            response.accepted_renderer = renderers.JSONRenderer()
            response.accepted_media_type = "application/json"
            response.renderer_context = self.get_renderer_context()
        return response

    @extend_schema(
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR,
                description="Server-Sent Events: `id: <item id>`, `event: notification`, `data: <inbox item JSON>`; "
                "comment lines keep the connection alive. Closes after INBOX_STREAM_MAX_SECONDS; "
                "the browser reconnects with Last-Event-ID.",
            ),
            # Errors come before the stream starts: JSON, like everywhere else.
            **{(code, "application/json"): response for code, response in error_responses(503).items()},
        },
        parameters=[
            OpenApiParameter(
                "after", int, description="Send items newer than this id (the newest on the page the client shows)."
            ),
            OpenApiParameter(
                "Last-Event-ID",
                int,
                location=OpenApiParameter.HEADER,
                description="Set by the browser on reconnect; takes precedence over `after`.",
            ),
            # The stream is negotiated by Accept; ?format= is not part of its interface.
            OpenApiParameter("format", exclude=True),
        ],
    )
    def get(self, request):
        # The browser's reconnect names the last item it got; a first connect says
        # where the page it loaded ends (?after=<newest id on the page>).
        after_id = _non_negative_int(request.headers.get("Last-Event-ID"))
        if after_id is None:
            after_id = _non_negative_int(request.query_params.get("after"))
        try:
            events = inbox_stream_open(
                user=request.user,
                after_id=after_id,
                keepalive_seconds=settings.INBOX_STREAM_KEEPALIVE_SECONDS,
                max_seconds=settings.INBOX_STREAM_MAX_SECONDS,
            )
        except redis.RedisError:
            logger.warning("live inbox: Redis unreachable", exc_info=True)
            return error_response(503, "Live updates are unavailable; try again shortly.")
        response = StreamingHttpResponse(events, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        return response
