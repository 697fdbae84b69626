"""The link rule (apps.common.links), case by case."""

import pytest
from django.core.exceptions import ValidationError

from apps.common.links import link_or_empty, link_refusal, link_validate

ALLOWED = [
    "https://example.com/",
    "HTTPS://Example.com/a?b=1&c=2#top",
    "http://example.com:8080/path",
    "https://example.com/a?x=1&amp;y=2",
    "/inbox/",
    "inbox/42",
    "?page=2",
    "#item-3",
    'https://example.com/"><script>alert(1)</script>',  # allowed: attributes are escaped when shown
    "",
    None,
]
REFUSED = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "javascript:alert(1) ",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x00javascript:alert(1)",
    "\u200bjavascript:alert(1)",  # zero-width space
    "\u00a0https://example.com/",  # no-break space
    "javascript&#58;alert(1)",
    "javascript&colon;alert(1)",
    "jav&#x09;ascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.com",
    "///evil.com",
    "\\\\evil.com",
    "/\\evil.com",
    "https:\\\\evil.com",
    "https:evil.com",
    "https://",
    "mailto:someone@example.com",
    "inbox:42",
    "https://example.com/" + "a" * 500,
    42,
    ["https://example.com/"],
]


@pytest.mark.parametrize("link", ALLOWED)
def test_allowed_links_pass_and_render_as_given(link):
    link_validate(link)
    assert link_or_empty(link) == (link or "")


@pytest.mark.parametrize("link", REFUSED)
def test_refused_links_raise_and_render_as_no_link(link):
    assert link_refusal(link)
    with pytest.raises(ValidationError):
        link_validate(link)
    assert link_or_empty(link) == ""
