"""Signed one-click unsubscribe links (RFC 8058) naming user × event type × channel,
or, for a send to an address that is no user, address × event type × channel.

The token is signed with SECRET_KEY and carries no expiry: a link in an old email must
still work. It grants one thing only: turning that subscription off, or putting that
address on the suppression list (an address has no subscriptions to turn off).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "delivery.unsubscribe"


@dataclass(frozen=True)
class UnsubscribeTarget:
    user_id: int | None
    event_type_id: int
    channel: str
    # Set (and user_id None) for a recipient that is no user.
    address: str = ""


def unsubscribe_token(*, user_id: int | None, event_type_id: int, channel: str, address: str = "") -> str:
    # A person's token keeps its original three-item form: links already sent stay valid.
    value = [user_id, event_type_id, channel] if user_id is not None else [None, event_type_id, channel, address]
    return signing.dumps(value, salt=SALT, compress=False)


def unsubscribe_token_read(token: str) -> UnsubscribeTarget:
    """The target of a token; raises signing.BadSignature when it was not made here."""
    value = signing.loads(token, salt=SALT)
    if not (isinstance(value, list) and len(value) in (3, 4)):
        raise signing.BadSignature("malformed unsubscribe token")
    user_id, event_type_id, channel, *rest = value
    address = rest[0] if rest else ""
    person = len(value) == 3 and isinstance(user_id, int)
    stranger = len(value) == 4 and user_id is None and isinstance(address, str) and address
    if not ((person or stranger) and isinstance(event_type_id, int) and isinstance(channel, str)):
        raise signing.BadSignature("malformed unsubscribe token")
    return UnsubscribeTarget(user_id, event_type_id, channel, address)


def unsubscribe_url(*, user_id: int | None, event_type_id: int, channel: str, address: str = "") -> str:
    token = unsubscribe_token(user_id=user_id, event_type_id=event_type_id, channel=channel, address=address)
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("unsubscribe", args=[token])


def unsubscribe_headers(url: str) -> dict[str, str]:
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
