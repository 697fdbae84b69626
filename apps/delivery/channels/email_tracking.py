"""Open and click tracking in an email's HTML part (off unless EMAIL_TRACKING_ENABLED,
or the stored template's own choice, turns it on).

Every http(s) link of the HTML (<a href>, <area href>) is rewritten to the signed
redirect of tracking.py and a 1x1 pixel is added at the end of the body. Links of any
other kind (mailto:, tel:, relative ones) and the unsubscribe link are left as they
are: the redirect only ever leads to http or https. The plain-text part is left
untouched: its reader sees where a link goes, and an opaque tracking URL there would
hide it.

The HTML is parsed (Beautiful Soup on the standard library's parser) once per content,
which every recipient of an event shares, into a layout with placeholders; each
message then only swaps in its own signed links, and the layout stays one shared
content for the MIME shortcut (email_mime.py) and SendGrid's substitutions.
"""

from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from django.conf import settings

from ..tracking import TRACKED_SCHEMES, click_url, open_url
from .base import Message
from .email_content import UNSUBSCRIBE_PLACEHOLDER

LINK_PLACEHOLDER = "%%tracked_link_{}%%"
PIXEL_PLACEHOLDER = "%%tracking_pixel%%"


@dataclass(frozen=True)
class TrackedLayout:
    html: str  # with LINK_PLACEHOLDER (by index) and PIXEL_PLACEHOLDER
    links: tuple[str, ...]  # the original URL of each placeholder


def tracking_enabled(stored) -> bool:
    """The stored template's choice when it made one, else the setting."""
    choice = getattr(stored, "email_tracking", None)
    return settings.EMAIL_TRACKING_ENABLED if choice is None else choice


@lru_cache(maxsize=64)
def tracked_layout(html: str) -> TrackedLayout:
    soup = BeautifulSoup(html, "html.parser")
    links = []
    for anchor in soup.find_all(["a", "area"], href=True):
        # A browser ignores the spaces around an href; the redirect leads to it without them.
        href = anchor["href"].strip()
        if urlsplit(href).scheme.lower() not in TRACKED_SCHEMES:
            continue
        anchor["href"] = LINK_PLACEHOLDER.format(len(links))
        links.append(href)
    pixel = soup.new_tag(
        "img", src=PIXEL_PLACEHOLDER, width="1", height="1", alt="", style="display:block;width:1px;height:1px;border:0"
    )
    (soup.body or soup).append(pixel)
    return TrackedLayout(html=str(soup), links=tuple(links))


def email_tracked(message: Message, content: tuple[str, str, str], *, template_id: int | None) -> Message:
    """The message with its HTML tracked (`content` as rendered, with the unsubscribe
    placeholder). What its links lead to is in extra["tracking"], for the channel to
    record for the whole batch before it is sent (EmailChannel.messages_prepare)."""
    subject, text, html = content
    layout = tracked_layout(html)
    delivery_id = message.delivery_id
    substitutions = {PIXEL_PLACEHOLDER: open_url(delivery_id=delivery_id)}
    for index in range(len(layout.links)):
        substitutions[LINK_PLACEHOLDER.format(index)] = click_url(delivery_id=delivery_id, index=index)
    tracked_html = layout.html.replace(UNSUBSCRIBE_PLACEHOLDER, message.extra["unsubscribe_url"])
    for placeholder, value in substitutions.items():
        tracked_html = tracked_html.replace(placeholder, value)
    # The layout is the content its recipients share; each message fills in its own links.
    extra = {
        **message.extra,
        "template": (subject, text, layout.html),
        "substitutions": substitutions,
        "tracking": {"template_id": template_id, "links": list(layout.links)},
    }
    return replace(message, html=tracked_html, extra=extra)
