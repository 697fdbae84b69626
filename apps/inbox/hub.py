"""One Redis pub/sub connection per process (per event loop), fanned out to the open
streams' queues.

A subscription per stream would cost a Redis connection and two file descriptors per
open stream (1,000 streams: 1,000 Redis clients); here a process holds one pub/sub
connection whatever the number of streams, and subscribes each person's channel once
however many tabs they have open. The channels stay per person, so the worker's
PUBSUB CHANNELS question (who is watching, apps.inbox.live.inbox_watchers) still works.

When the connection breaks, every stream of the process ends: the browsers reconnect
with Last-Event-ID and catch up from the database, so nothing published in the gap is
lost (a silent re-subscribe would drop it).
"""

import asyncio
import logging

import redis.asyncio

from apps.common.redis_clients import redis_async_client

logger = logging.getLogger(__name__)

# A stream whose client reads more slowly than its items come is ended rather than
# buffered without bound; it catches up from the database when it reconnects.
QUEUE_SIZE = 256
CLOSED = None  # put on a queue when its stream must end
# Redis connections of one stream process: the pub/sub one, and the rest for the slots.
REDIS_CONNECTIONS = 16


def live_async_client() -> redis.asyncio.Redis:
    """The running event loop's asyncio Redis client. Its pool blocks: a thousand streams
    closing at once queue for a few connections (a non-blocking pool fails past its size,
    and their slots would not be released)."""
    return redis_async_client("live_inbox", max_connections=REDIS_CONNECTIONS, pool_timeout=10)


class HubClosed(redis.ConnectionError):
    """The hub closed (Redis broke) while a stream was waiting to join it."""


class InboxHub:
    """The loop's subscriber: channel → the queues of the streams listening to it."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.client = live_async_client()
        self.pubsub = self.client.pubsub()
        self.queues: dict[bytes, set[asyncio.Queue]] = {}
        self.confirmed: dict[bytes, asyncio.Event] = {}
        # (Un)subscribes one at a time, each SUBSCRIBE confirmed before the next: a
        # confirmation is then always the answer to the command waiting for it.
        self.lock = asyncio.Lock()
        self.reader: asyncio.Task | None = None
        self.closed = False

    async def join(self, channel: str) -> asyncio.Queue:
        """A queue that gets every message published on channel from now on: returns
        once Redis confirmed the subscription. Raises redis.RedisError."""
        name = channel.encode()
        queue = asyncio.Queue(QUEUE_SIZE)
        async with self.lock:
            if self.closed:
                raise HubClosed
            listeners = self.queues.setdefault(name, set())
            listeners.add(queue)
            if len(listeners) == 1:
                try:
                    await self._subscribe(name)
                except BaseException:
                    listeners.discard(queue)
                    if not listeners:
                        del self.queues[name]
                    raise
        return queue

    async def _subscribe(self, name: bytes) -> None:
        confirmed = self.confirmed[name] = asyncio.Event()
        await self.pubsub.subscribe(name)
        if self.reader is None:
            self.reader = self.loop.create_task(self._read(), name="live inbox hub")
        reader_done = asyncio.ensure_future(asyncio.shield(self.reader))
        waiting = asyncio.ensure_future(confirmed.wait())
        try:
            await asyncio.wait({waiting, reader_done}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            reader_done.cancel()
        if not confirmed.is_set():
            raise redis.ConnectionError("no subscription confirmation from Redis")

    def leave(self, channel: str, queue: asyncio.Queue) -> None:
        """Forget the queue; the channel is unsubscribed once nobody on this process
        listens to it, and the hub closes with its last listener. Never raises."""
        name = channel.encode()
        listeners = self.queues.get(name)
        if listeners is None or queue not in listeners:
            return
        listeners.discard(queue)
        if not listeners:
            self.loop.create_task(self._unsubscribe(name))

    async def _unsubscribe(self, name: bytes) -> None:
        async with self.lock:
            if self.queues.get(name) or self.closed:
                return  # someone joined again meanwhile, or the hub is gone
            self.queues.pop(name, None)
            self.confirmed.pop(name, None)
            try:
                if self.queues:
                    await self.pubsub.unsubscribe(name)
                else:
                    await self._close()
            except Exception:
                logger.warning("live inbox: unsubscribe failed; closing the hub", exc_info=True)
                await self._close()

    async def _read(self) -> None:
        try:
            while True:
                message = await self.pubsub.get_message(timeout=None)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    event = self.confirmed.get(message["channel"])
                    if event is not None:
                        event.set()
                elif message["type"] == "message":
                    for queue in list(self.queues.get(message["channel"], ())):
                        try:
                            queue.put_nowait(message["data"])
                        except asyncio.QueueFull:
                            self._end(queue)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("live inbox: pub/sub connection lost; ending this process's streams", exc_info=True)
            self.loop.create_task(self._close())

    def _end(self, queue: asyncio.Queue) -> None:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(CLOSED)

    async def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if _hubs.get(self.loop) is self:
            del _hubs[self.loop]
        for listeners in self.queues.values():
            for queue in listeners:
                self._end(queue)
        self.queues.clear()
        if self.reader is not None and self.reader is not asyncio.current_task():
            self.reader.cancel()
        try:
            await self.pubsub.aclose()
        except Exception:
            logger.debug("live inbox: closing the pub/sub connection failed", exc_info=True)


_hubs: dict[asyncio.AbstractEventLoop, InboxHub] = {}


def inbox_hub() -> InboxHub:
    """The running loop's hub (made on first use; gone again with its last stream)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None or hub.closed:
        hub = _hubs[loop] = InboxHub(loop)
    return hub


async def inbox_hub_join(channel: str) -> tuple[InboxHub, asyncio.Queue]:
    """Join channel on the running loop's hub; a hub that closed while the stream waited
    to join (its pub/sub connection broke) is replaced by a new one, once."""
    hub = inbox_hub()
    try:
        return hub, await hub.join(channel)
    except HubClosed:
        hub = inbox_hub()
        return hub, await hub.join(channel)
