"""Live inbox items over Redis pub/sub, so any web process sees what any worker made.

Each open stream subscribes to its person's channel. After a fan-out chunk commits,
the worker asks Redis which people have a stream open (PUBSUB CHANNELS) and publishes
only their new items: the cost follows who is watching, not the audience size.

Redis pub/sub ignores the database number of the URL, so channel names carry a prefix
(INBOX_PUBSUB_PREFIX, by default the database number) that keeps two deployments on
one Redis apart.
"""

import json
import logging
import time

import redis
from django.conf import settings
from django.db import close_old_connections, connection

from apps.common.redis_clients import redis_client
from apps.events.models import Event
from apps.notifications.api import InboxItemOutput
from apps.notifications.models import UserNotification
from apps.notifications.selectors import inbox_list
from apps.ops.metrics import INBOX_STREAMS_OPEN as STREAMS_OPEN

logger = logging.getLogger(__name__)

# Items a reconnecting stream catches up on at most; older ones are on the page.
CATCH_UP_LIMIT = 100


def live_client() -> redis.Redis:
    # Its pub/sub reads wait with get_message's own timeout: the shared socket timeout suits them.
    return redis_client("live_inbox")


def inbox_channel(user_id: int) -> str:
    return f"{settings.INBOX_PUBSUB_PREFIX}inbox:{user_id}"


def inbox_watchers() -> set[int]:
    """Ids of the people with a stream open on any web process."""
    prefix = inbox_channel("")
    channels = live_client().pubsub_channels(f"{prefix}*")
    return {int(name[len(prefix) :]) for name in (c.decode() for c in channels) if name[len(prefix) :].isdigit()}


def inbox_item_json(item: UserNotification) -> str:
    return json.dumps(InboxItemOutput(item).data, separators=(",", ":"))


def inbox_live_publish_chunk(*, event_id: int, after_user_id: int, upto_user_id: int | None) -> int:
    """Publish the new inbox items of one committed fan-out chunk to the people
    watching; returns how many were published."""
    watchers = {user_id for user_id in inbox_watchers() if user_id > after_user_id}
    if upto_user_id is not None:
        watchers = {user_id for user_id in watchers if user_id <= upto_user_id}
    if not watchers:
        return 0
    bounds = {"user_id__gt": after_user_id} | ({} if upto_user_id is None else {"user_id__lte": upto_user_id})
    # The chunk's bounds keep the index scan to the chunk even when the table's
    # statistics lag behind a large fan-out.
    items = list(UserNotification.objects.filter(event_id=event_id, user_id__in=watchers, in_inbox=True, **bounds))
    if not items:
        return 0
    event = Event.objects.select_related("event_type").get(pk=event_id)
    for item in items:
        item.event = event  # one event for all, not one copy per row
    # One serializer for all: building a serializer per item costs more than the query.
    payloads = InboxItemOutput(items, many=True).data
    pipe = live_client().pipeline(transaction=False)
    for item, payload in zip(items, payloads, strict=True):
        pipe.publish(inbox_channel(item.user_id), json.dumps(payload, separators=(",", ":")))
    pipe.execute()
    return len(payloads)


def _sse(*, event: str, data: str, event_id: int) -> str:
    return f"id: {event_id}\nevent: {event}\ndata: {data}\n\n"


def inbox_stream_open(*, user, after_id: int | None, keepalive_seconds: float, max_seconds: float):
    """Subscribe to the person's channel and return the stream of Server-Sent Events.

    Subscribing happens here, before any response is sent, so an unreachable Redis is
    an error the caller can answer (503) rather than a stream that breaks after 200.
    """
    pubsub = live_client().pubsub(ignore_subscribe_messages=True)
    try:
        # Subscribed before the catch-up query, so nothing falls between the two.
        pubsub.subscribe(inbox_channel(user.pk))
    except redis.RedisError:
        pubsub.close()
        raise
    return _InboxStream(pubsub, _inbox_events(pubsub, user, after_id, keepalive_seconds, max_seconds))


class _InboxStream:
    """The response body. Its close() also releases the subscription when the body was
    never iterated (a generator that never started runs no `finally`)."""

    def __init__(self, pubsub, events):
        self.pubsub = pubsub
        self.events = events

    def __iter__(self):
        return self.events

    def close(self):
        self.events.close()
        self.pubsub.close()


def _inbox_events(pubsub, user, after_id, keepalive_seconds, max_seconds):
    """Items created after after_id (a reconnect catches up from the database), then
    each new item as it is published, with a comment line every keepalive_seconds so
    proxies keep the connection open and a closed client is noticed. Ends after
    max_seconds; the browser reconnects by itself with Last-Event-ID."""
    STREAMS_OPEN.inc()
    try:
        yield f"retry: {settings.INBOX_STREAM_RETRY_MS}\n\n"
        last_id = after_id or 0
        if after_id is not None:
            items = inbox_list(user=user).filter(pk__gt=after_id).order_by("pk")[:CATCH_UP_LIMIT]
            for item in items:
                last_id = item.pk
                yield _sse(event="notification", data=inbox_item_json(item), event_id=item.pk)
        # The stream may stay open for minutes: it must not hold a database connection.
        # Inside an open transaction (a test's) the connection is not the stream's to close.
        if not connection.in_atomic_block:
            close_old_connections()
            connection.close()
        deadline = time.monotonic() + max_seconds
        last_write = time.monotonic()
        while (remaining := deadline - time.monotonic()) > 0:
            message = pubsub.get_message(timeout=min(keepalive_seconds, remaining))
            if message is not None and message["type"] == "message":
                item_id = json.loads(message["data"])["id"]
                if item_id > last_id:  # already sent by the catch-up
                    last_id = item_id
                    last_write = time.monotonic()
                    yield _sse(event="notification", data=message["data"].decode(), event_id=item_id)
            elif time.monotonic() - last_write >= keepalive_seconds:
                last_write = time.monotonic()
                yield ": keep-alive\n\n"
    finally:
        STREAMS_OPEN.dec()
        pubsub.close()
