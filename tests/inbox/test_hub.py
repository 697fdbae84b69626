"""The process's pub/sub hub on a real Redis: one subscription per channel however many
streams listen, and a join that races the hub's closing."""

import asyncio

from apps.inbox.hub import inbox_hub, inbox_hub_join
from apps.inbox.live import live_client


def subscribers(channel: str) -> int:
    return dict(live_client().pubsub_numsub(channel))[channel.encode()]


def test_streams_of_one_channel_share_one_subscription_and_each_gets_every_message():
    channel = "test-hub:shared"

    async def scenario():
        (hub, first), (_, second) = await inbox_hub_join(channel), await inbox_hub_join(channel)
        count = await asyncio.to_thread(subscribers, channel)
        await asyncio.to_thread(live_client().publish, channel, b'{"id": 1}')
        got = [await asyncio.wait_for(queue.get(), 5) for queue in (first, second)]
        hub.leave(channel, first)
        hub.leave(channel, second)
        await asyncio.sleep(0.2)
        return count, got, hub.closed

    count, got, closed = asyncio.run(scenario())
    assert count == 1
    assert got == [b'{"id": 1}', b'{"id": 1}']
    assert closed and subscribers(channel) == 0  # the last stream took the connection with it


def test_a_join_right_after_the_last_leave_keeps_the_subscription():
    """A page reload: the old stream leaves and the new one joins before the hub's
    unsubscribe runs; the unsubscribe then sees a listener and keeps the channel."""
    channel = "test-hub:reload"

    async def scenario():
        hub, old_queue = await inbox_hub_join(channel)
        hub.leave(channel, old_queue)
        same, queue = await inbox_hub_join(channel)
        await asyncio.sleep(0.2)  # the unsubscribe task has run
        count = await asyncio.to_thread(subscribers, channel)
        await asyncio.to_thread(live_client().publish, channel, b"after")
        message = await asyncio.wait_for(queue.get(), 5)
        same.leave(channel, queue)
        await asyncio.sleep(0.2)
        return same is hub, count, message

    reused, count, message = asyncio.run(scenario())
    assert reused and count == 1 and message == b"after"


def test_a_join_while_its_hub_closes_joins_a_new_hub():
    """The hub closes (its pub/sub connection broke) while a stream waits to join it."""
    channel = "test-hub:broken"

    async def scenario():
        broken = inbox_hub()
        async with broken.lock:  # another join is subscribing meanwhile
            joining = asyncio.create_task(inbox_hub_join(channel))
            await asyncio.sleep(0.05)
            await broken._close()  # what the reader does when the connection breaks
        hub, queue = await joining
        count = await asyncio.to_thread(subscribers, channel)
        hub.leave(channel, queue)
        await asyncio.sleep(0.2)
        return hub is not broken, broken.closed, count

    replaced, broken_closed, count = asyncio.run(scenario())
    assert replaced and broken_closed and count == 1


def test_a_broken_pubsub_connection_ends_the_streams():
    """Messages published while the connection was down are gone: the streams must end
    (and catch up on reconnect) rather than go on as if nothing was missed."""
    channel = "test-hub:killed"

    async def scenario():
        hub, queue = await inbox_hub_join(channel)
        client = live_client()
        db = client.connection_pool.connection_kwargs.get("db", 0)
        clients = await asyncio.to_thread(client.client_list)
        [subscriber] = [c for c in clients if int(c["db"]) == db and int(c.get("sub", 0)) > 0]
        await asyncio.to_thread(client.client_kill_filter, _id=subscriber["id"])
        ended = await asyncio.wait_for(queue.get(), 10)
        return hub.closed, ended

    closed, ended = asyncio.run(scenario())
    assert closed and ended is None  # CLOSED: the stream ends
    assert subscribers("test-hub:killed") == 0
