"""Live inbox items over Redis pub/sub, so any web process sees what any worker made.

Each stream process subscribes to the channel of every person with a stream open on it
(apps.inbox.hub). After a fan-out chunk commits, the worker asks Redis which people
have a stream open (PUBSUB CHANNELS) and publishes only their new items: the cost
follows who is watching, not the audience size.

Redis pub/sub ignores the database number of the URL, so channel names carry a prefix
(INBOX_PUBSUB_PREFIX, by default the database number) that keeps two deployments on
one Redis apart.
"""

import json
import logging

import redis
from django.conf import settings

from apps.common.redis_clients import redis_client
from apps.events.models import Event
from apps.notifications.api import InboxItemOutput
from apps.notifications.models import UserNotification

logger = logging.getLogger(__name__)


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


def _watchers_between(after_user_id: int, upto_user_id: int | None) -> set[int]:
    """The watchers among one fan-out chunk's people."""
    return {
        user_id
        for user_id in inbox_watchers()
        if user_id > after_user_id and (upto_user_id is None or user_id <= upto_user_id)
    }


def inbox_item_json(item: UserNotification) -> str:
    return json.dumps(InboxItemOutput(item).data, separators=(",", ":"))


def inbox_live_publish_chunk(*, event_id: int, after_user_id: int, upto_user_id: int | None) -> int:
    """Publish the new inbox items of one committed fan-out chunk to the people
    watching; returns how many were published."""
    watchers = _watchers_between(after_user_id, upto_user_id)
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


def inbox_live_publish_batch_updates(*, event_type_id: int, batch_key: str) -> int:
    """Publish the inbox items of one key's open batching windows (their count and
    words changed) to the people watching, marked `updated`: the stream shows them in
    place of the item it already has."""
    watchers = inbox_watchers()
    if not watchers:
        return 0
    items = list(
        UserNotification.objects.filter(
            batch__event_type_id=event_type_id,
            batch__batch_key=batch_key,
            batch__closed_at__isnull=True,
            user_id__in=watchers,
            in_inbox=True,
        ).select_related("event__event_type")
    )
    pipe = live_client().pipeline(transaction=False)
    for item, payload in zip(items, InboxItemOutput(items, many=True).data, strict=True):
        pipe.publish(inbox_channel(item.user_id), json.dumps({**payload, "updated": True}, separators=(",", ":")))
    pipe.execute()
    return len(items)
