"""The one rule for links the service puts in front of a reader (inbox items, emails,
push and webhook payloads): `https:`, `http:` or a path on the service itself.

Everything else is refused: other schemes (`javascript:`, `data:`, `vbscript:`, ...),
protocol-relative links (`//evil.com`, which a browser resolves to another host),
backslashes (`\\evil.com`, `/\\evil.com`: browsers read them as slashes), and any
whitespace or control character anywhere (browsers strip or skip them, so
` JaVaScRiPt:` and `java<TAB>script:` would otherwise pass a naive scheme check). A
link with HTML character references (`javascript&#58;...`) is judged as written and as
a browser decodes it in an attribute; both must pass.

Publishing refuses a bad link (link_validate); rendering drops one that reached the
database before the rule existed (link_or_empty). The check is deliberately strict and
small rather than a general URL parser: what it lets through is easy to reason about.
"""

import html
import re
import unicodedata
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

LINK_MAX = 500  # the inbox item's column
ALLOWED_SCHEMES = ("http", "https")
# A scheme as browsers parse one (WHATWG URL): a letter, then letters, digits, + - .
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def _refusal(link: str) -> str | None:
    """Why `link` is not allowed, or None when it is."""
    if any(unicodedata.category(char)[0] in "CZ" for char in link):
        return "Links may not contain whitespace or control characters."
    if "\\" in link:
        return "Links may not contain backslashes."
    scheme = _SCHEME.match(link)
    if scheme:
        if scheme.group(1).lower() not in ALLOWED_SCHEMES:
            return "Only https:, http: and relative links are allowed."
        if not urlsplit(link).hostname:
            return "An http(s) link needs a host."
        return None
    if link.startswith("//"):
        return "Protocol-relative links (//host) are not allowed; give https://host."
    # A relative link whose first segment holds a colon reads as a scheme to some parsers.
    if ":" in re.split(r"[/?#]", link, maxsplit=1)[0]:
        return "Only https:, http: and relative links are allowed."
    return None


def link_refusal(link) -> str | None:
    """Why `link` may not be shown to a reader, or None. Empty means no link."""
    if link is None or link == "":
        return None
    if not isinstance(link, str):
        return "A link must be a string."
    if len(link) > LINK_MAX:
        return f"Links may be at most {LINK_MAX} characters."
    reason = _refusal(link)
    if reason is None and "&" in link:
        reason = _refusal(html.unescape(link))
    return reason


def link_validate(link) -> None:
    reason = link_refusal(link)
    if reason:
        raise ValidationError(reason, code="unsafe_link")


def link_or_empty(link) -> str:
    """The link when it is allowed, else "" (render time: shown as no link at all)."""
    if not link or link_refusal(link):
        return ""
    return link
