"""One open live inbox stream, asynchronous: it waits on its queue of the process's hub
(apps.inbox.hub) and holds no thread, no database connection and no Redis connection
of its own while it waits.

The contract is the one browsers reconnect by: a `retry:` line first; then the items
after `Last-Event-ID` (or `?after=`) from the database; then each new item as it is
published; a comment line after each KEEPALIVE seconds without a write; the end after
MAX seconds (the browser reconnects with Last-Event-ID).
"""

import asyncio
import contextlib
import json
import logging

import redis
from django.conf import settings

from apps.notifications.selectors import inbox_list
from apps.ops.metrics import INBOX_STREAMS_OPEN as STREAMS_OPEN

from .db_threads import in_db_thread
from .hub import CLOSED, inbox_hub_join
from .leases import StreamLease
from .live import inbox_channel, inbox_item_json

logger = logging.getLogger(__name__)

# Items a reconnecting stream catches up on at most; older ones are on the page.
CATCH_UP_LIMIT = 100


class StreamLimitReached(Exception):
    """The person has INBOX_STREAMS_PER_PERSON streams open already."""


async def inbox_stream_open(*, user, after_id: int | None) -> "InboxStream":
    """Take a slot under the person's cap and subscribe, before any response is sent:
    a full cap (StreamLimitReached) or an unreachable Redis (redis.RedisError) is then
    an answer the view can give (429, 503) rather than a stream that breaks after 200."""
    lease = StreamLease(user.pk)
    if not await lease.take():
        raise StreamLimitReached
    channel = inbox_channel(user.pk)
    try:
        # Subscribed before the catch-up query, so nothing falls between the two.
        hub, queue = await inbox_hub_join(channel)
    except BaseException:
        await _quietly(lease.release())
        raise
    return InboxStream(user=user, after_id=after_id, hub=hub, channel=channel, queue=queue, lease=lease)


async def _quietly(release) -> None:
    # Cleanup that may fail: a lease left behind expires by itself.
    try:
        await release
    except redis.RedisError:
        logger.warning("live inbox: releasing a stream slot failed; it expires by itself", exc_info=True)


def _sse(*, event: str, data: str, event_id: int) -> str:
    return f"id: {event_id}\nevent: {event}\ndata: {data}\n\n"


def _catch_up(user, after_id: int) -> list[tuple[int, str]]:
    items = inbox_list(user=user).filter(pk__gt=after_id).order_by("pk")[:CATCH_UP_LIMIT]
    return [(item.pk, inbox_item_json(item)) for item in items]


class InboxStream:
    """The response body. Django calls close() once the response is done, also when the
    body was never iterated (a generator that never started runs no `finally`)."""

    def __init__(self, *, user, after_id, hub, channel, queue, lease):
        self.user, self.after_id = user, after_id
        self.hub, self.channel, self.queue, self.lease = hub, channel, queue, lease
        self.loop = asyncio.get_running_loop()
        self.released = False
        self.events = self._events()

    def __aiter__(self):
        return self.events

    def close(self) -> None:
        # Called from a thread (the ASGI handler runs response.close through sync_to_async).
        # A loop already gone (server shutdown) leaves the lease to expire by itself.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(lambda: self.loop.create_task(self.release()))

    async def release(self) -> None:
        if self.released:
            return
        self.released = True
        self.hub.leave(self.channel, self.queue)
        await _quietly(self.lease.release())

    async def _events(self):
        STREAMS_OPEN.inc()
        try:
            yield f"retry: {settings.INBOX_STREAM_RETRY_MS}\n\n"
            last_id = self.after_id or 0
            if self.after_id is not None:
                for item_id, data in await in_db_thread(_catch_up, self.user, self.after_id):
                    last_id = item_id
                    yield _sse(event="notification", data=data, event_id=item_id)
            async for chunk in self._live(last_id):
                yield chunk
        finally:
            STREAMS_OPEN.dec()
            await self.release()

    async def _live(self, last_id: int):
        keepalive = settings.INBOX_STREAM_KEEPALIVE_SECONDS
        clock = self.loop.time
        deadline = clock() + settings.INBOX_STREAM_MAX_SECONDS
        next_beat = last_write = clock()
        next_beat += keepalive
        while (now := clock()) < deadline:
            try:
                async with asyncio.timeout(min(next_beat, deadline) - now):
                    data = await self.queue.get()
            except TimeoutError:
                if clock() >= deadline:
                    return
                next_beat = clock() + keepalive
                # The heartbeat renews the slot; a stream that lost it (or Redis) ends.
                try:
                    if not await self.lease.take():
                        return
                except redis.RedisError:
                    logger.warning("live inbox: cannot renew a stream's slot; ending it", exc_info=True)
                    return
                if clock() - last_write >= keepalive:
                    last_write = clock()
                    yield ": keep-alive\n\n"
                continue
            if data is CLOSED:
                return  # the hub lost Redis or this client lagged: it reconnects and catches up
            item = json.loads(data)
            item_id = item["id"]
            if item.get("updated"):
                # A batch's item with new words: shown in place, the resume point unmoved.
                last_write = clock()
                yield _sse(event="notification_updated", data=data.decode(), event_id=last_id)
            elif item_id > last_id:  # already sent by the catch-up
                last_id = item_id
                last_write = clock()
                yield _sse(event="notification", data=data.decode(), event_id=item_id)
