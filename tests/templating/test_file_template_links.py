"""The project's own file templates escape data and never show a bad link, even one
that reached the database before the link rule (safe_link)."""

import pytest

from apps.templating.render import template_render

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"


def render(event_type, data):
    return template_render(
        event_type=event_type, channel="email", locale="en", context={"data": data, "event_type": {"name": "News"}}
    )


@pytest.mark.parametrize("link", ["javascript:alert(1)", "//evil.com", " JaVaScRiPt:alert(1)"])
def test_the_default_email_escapes_data_and_drops_a_bad_link(link):
    rendered = render("no.such.type", {"message": SCRIPT, "url": link})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html and SCRIPT not in rendered.html
    assert "href" not in rendered.html and link.strip() not in rendered.text
    good = render("no.such.type", {"message": "m", "url": "https://example.com/a?b=1&c=2"})
    assert 'href="https://example.com/a?b=1&amp;c=2"' in good.html and "https://example.com/a?b=1&c=2" in good.text


def test_the_digest_email_escapes_entries_and_drops_bad_links():
    entries = [
        {"title": SCRIPT, "body": "<b>bold</b>", "url": "javascript:alert(1)"},
        {"title": "Fine", "body": "", "url": "/inbox/"},
    ]
    rendered = render("digest", {"entries": entries, "count": 2, "window_start": "then"})
    assert SCRIPT not in rendered.html and "&lt;script&gt;" in rendered.html and "<b>bold" not in rendered.html
    assert "javascript:" not in rendered.html and "javascript:" not in rendered.text
    assert 'href="/inbox/"' in rendered.html and "/inbox/" in rendered.text
