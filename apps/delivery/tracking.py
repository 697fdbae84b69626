"""Signed links of email open and click tracking, made like the unsubscribe links
(Django's signing with SECRET_KEY, a salt of their own, no expiry: an old email's links
keep working).

A click token names a delivery and the index of a link in that delivery's email, never
a URL: the redirect looks the URL up in what was sent (TrackedEmail.links), so no token
can send anyone anywhere else. An open token names the delivery only.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

CLICK_SALT = "delivery.tracking.click"
OPEN_SALT = "delivery.tracking.open"
# The only targets a tracked link may have; anything else is left as it is.
TRACKED_SCHEMES = ("http", "https")


def _absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def click_url(*, delivery_id: int, index: int) -> str:
    token = signing.dumps([delivery_id, index], salt=CLICK_SALT, compress=False)
    return _absolute(reverse("email-tracking-click", args=[token]))


def open_url(*, delivery_id: int) -> str:
    token = signing.dumps(delivery_id, salt=OPEN_SALT, compress=False)
    return _absolute(reverse("email-tracking-open", args=[token]))


def click_token_read(token: str) -> tuple[int, int]:
    """(delivery id, link index); raises signing.BadSignature when not made here."""
    value = signing.loads(token, salt=CLICK_SALT)
    if not (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        raise signing.BadSignature("malformed click token")
    return value[0], value[1]


def open_token_read(token: str) -> int:
    """The delivery id; raises signing.BadSignature when not made here."""
    value = signing.loads(token, salt=OPEN_SALT)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise signing.BadSignature("malformed open token")
    return value


def link_target(links: list, index: int) -> str | None:
    """The URL a click token's index names in an email's links, if it is one a tracked
    link may lead to (checked again here: the redirect never leaves http and https)."""
    if not 0 <= index < len(links) or not isinstance(links[index], str):
        return None
    url = links[index]
    return url if urlsplit(url).scheme.lower() in TRACKED_SCHEMES else None
