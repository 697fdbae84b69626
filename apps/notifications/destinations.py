"""Operators' chat destinations in the fan-out: every published event of a type a
destination lists gets one item for that destination (no user, no inbox, address
`chat:<destination id>`) and one `chat` delivery, written with the event's first chunk.

Destinations are the operator's own channels, so people's preferences, quiet hours and
the suppression list do not apply to them. Direct sends name their audience and do not
reach destinations.
"""

from apps.common.channels import Channel
from apps.delivery.models import ChatDestination, Delivery, DeliveryStatus

from .models import UserNotification

NOTIFICATIONS = UserNotification._meta.db_table
DELIVERIES = Delivery._meta.db_table
DESTINATIONS = ChatDestination._meta.db_table
DESTINATION_TYPES = ChatDestination.event_types.through._meta.db_table
# The item's address names the destination; the chat channel reads it back.
ADDRESS_PREFIX = "chat:"

DESTINATION_NOTIFICATIONS_SQL = f"""
    INSERT INTO {NOTIFICATIONS} (event_id, user_id, address, title, body, data, url, in_inbox, created_at)
    SELECT %(event_id)s, NULL, '{ADDRESS_PREFIX}' || CAST(d.id AS VARCHAR(20)), %(title)s, %(body)s, NULL, %(url)s,
           FALSE, %(now)s
    FROM {DESTINATIONS} d JOIN {DESTINATION_TYPES} t ON t.chatdestination_id = d.id
    WHERE t.eventtype_id = %(event_type_id)s AND d.is_active
    ON CONFLICT (event_id, address) WHERE NOT (address = '') DO NOTHING
"""
DESTINATION_DELIVERIES_SQL = f"""
    INSERT INTO {DELIVERIES}
        (notification_id, channel, status, attempts, last_error, provider_message_id, created_at, updated_at)
    SELECT n.id, '{Channel.CHAT}', '{DeliveryStatus.PENDING}', 0, '', '', %(now)s, %(now)s
    FROM {NOTIFICATIONS} n
    WHERE n.event_id = %(event_id)s AND n.user_id IS NULL AND n.address LIKE '{ADDRESS_PREFIX}%%'
    ON CONFLICT (notification_id, channel) DO NOTHING
"""


def destinations_fan_out(cursor, params: dict) -> tuple[int, int]:
    """The event's chat destinations' items and deliveries, in the chunk's transaction.
    Returns (items, deliveries) added."""
    cursor.execute(DESTINATION_NOTIFICATIONS_SQL, params)
    items = max(cursor.rowcount, 0)
    cursor.execute(DESTINATION_DELIVERIES_SQL, params)
    return items, max(cursor.rowcount, 0)
