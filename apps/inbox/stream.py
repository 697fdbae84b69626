"""GET /api/v1/inbox/stream/: Server-Sent Events, one `notification` event per new item.

An asynchronous view, served by the ASGI stream process (uvicorn; see docs/operations.md):
an open stream is a coroutine waiting on a queue, not a thread, so a thousand of them
cost a process some memory and leave the API's threads alone. Who may open one is
decided exactly as for every API view (token or session, IsPerson, throttles) by
InboxStreamApi below, run in a database thread (db_threads) because its lookups
are blocking ORM calls.
"""

import json
import logging

import redis
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.errors import error_response
from apps.common.permissions import IsPerson
from apps.common.schema import error_responses

from .db_threads import in_db_thread
from .leases import stream_retry_after_seconds
from .live_stream import StreamLimitReached, inbox_stream_open

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
    """Who may open a stream, and its documented contract. Its GET admits the caller;
    the stream itself is served by inbox_stream, which runs this first."""

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
        description="Served by the ASGI stream process. At most INBOX_STREAMS_PER_PERSON streams per person "
        "are open at once; one more answers 429 with Retry-After.",
    )
    def get(self, request):
        # Authenticated, a person, within the throttle: the async view streams for them.
        return Admitted(request.user)


class Admitted(HttpResponse):
    """InboxStreamApi's answer when the caller may open a stream (never sent as such)."""

    def __init__(self, user):
        super().__init__(status=204)
        self.user = user


def _admit(request):
    response = InboxStreamApi.as_view()(request)
    if not isinstance(response, Admitted) and hasattr(response, "render"):
        response.render()  # an error envelope, rendered here where DRF's context is
    return response


async def inbox_stream(request):
    admitted = await in_db_thread(_admit, request)
    if not isinstance(admitted, Admitted):
        return admitted
    if not isinstance(request, ASGIRequest):
        # Under WSGI an asynchronous body is buffered whole, and a stream would hold a
        # thread again: refuse at once, so a misrouted stream costs the API nothing.
        return error_response(503, "Live updates are served by the stream process; this server does not serve them.")
    # The browser's reconnect names the last item it got; a first connect says
    # where the page it loaded ends (?after=<newest id on the page>).
    after_id = _non_negative_int(request.headers.get("Last-Event-ID"))
    if after_id is None:
        after_id = _non_negative_int(request.GET.get("after"))
    try:
        body = await inbox_stream_open(user=admitted.user, after_id=after_id)
    except StreamLimitReached:
        retry_after = stream_retry_after_seconds()
        response = error_response(
            429,
            f"At most {settings.INBOX_STREAMS_PER_PERSON} live streams may be open at once; close one first.",
            details={"retry_after": retry_after, "limit": settings.INBOX_STREAMS_PER_PERSON},
        )
        response["Retry-After"] = str(retry_after)
        return response
    except redis.RedisError:
        logger.warning("live inbox: Redis unreachable", exc_info=True)
        return error_response(503, "Live updates are unavailable; try again shortly.")
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


# drf-spectacular documents DRF views only: the schema of this path is InboxStreamApi's.
inbox_stream.cls = InboxStreamApi
inbox_stream.initkwargs = {}
