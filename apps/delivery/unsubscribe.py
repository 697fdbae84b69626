"""Signed one-click unsubscribe links (RFC 8058) naming user × event type × channel.

The token is signed with SECRET_KEY and carries no expiry: a link in an old email must
still work. It grants one thing only, turning that subscription off.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "delivery.unsubscribe"


@dataclass(frozen=True)
class UnsubscribeTarget:
    user_id: int
    event_type_id: int
    channel: str


def unsubscribe_token(*, user_id: int, event_type_id: int, channel: str) -> str:
    return signing.dumps([user_id, event_type_id, channel], salt=SALT, compress=False)


def unsubscribe_token_read(token: str) -> UnsubscribeTarget:
    """The target of a token; raises signing.BadSignature when it was not made here."""
    value = signing.loads(token, salt=SALT)
    if not (isinstance(value, list) and len(value) == 3):
        raise signing.BadSignature("malformed unsubscribe token")
    user_id, event_type_id, channel = value
    if not (isinstance(user_id, int) and isinstance(event_type_id, int) and isinstance(channel, str)):
        raise signing.BadSignature("malformed unsubscribe token")
    return UnsubscribeTarget(user_id, event_type_id, channel)


def unsubscribe_url(*, user_id: int, event_type_id: int, channel: str) -> str:
    token = unsubscribe_token(user_id=user_id, event_type_id=event_type_id, channel=channel)
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("unsubscribe", args=[token])


def unsubscribe_headers(url: str) -> dict[str, str]:
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
