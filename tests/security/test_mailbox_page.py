"""The development mailbox (/dev/mailbox/) over HTTP against a live server: it does not
exist with DEBUG off (404 for everyone, staff included), refuses anyone who is not
staff, and never puts a message's HTML into the page: that HTML is served apart, into
a sandboxed iframe, under a policy that runs no script and loads nothing."""

import pytest
import requests
from django.test import Client

from apps.mailcatcher.services import caught_message_save

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE_HTML = (
    '<h1>Hi</h1><script>window.parent.stolen = document.cookie</script><img src="https://tracker.example/p.gif">'
)
SUBJECT = "Secret reset link"


def raw_message(subject=SUBJECT, html=HOSTILE_HTML) -> bytes:
    return (
        f"Subject: {subject}\r\nFrom: notifications@localhost\r\nTo: bob@example.com\r\n"
        "Date: Tue, 01 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nReset: https://x.example/r/abc\r\n"
        f"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--b--\r\n"
    ).encode()


@pytest.fixture
def caught(settings, tmp_path):
    settings.DEBUG = True  # pytest-django runs tests with DEBUG off
    settings.MAIL_CATCHER_DIR = tmp_path
    return caught_message_save(directory=tmp_path, content=raw_message(), envelope_to=["bob@example.com"], keep=10)


def session_for(user) -> requests.Session:
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    return session


@pytest.fixture
def staff(make_user):
    user = make_user("root")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def test_staff_see_the_messages_and_the_html_only_in_a_sandboxed_frame(live_server, caught, staff):
    session = session_for(staff)
    page = session.get(f"{live_server.url}/dev/mailbox/", allow_redirects=False)
    assert page.status_code == 200
    assert SUBJECT in page.text and "bob@example.com" in page.text
    assert "Reset: https://x.example/r/abc" in page.text  # the text part, escaped into <pre>
    assert "<script>" not in page.text and "tracker.example" not in page.text
    assert '<iframe sandbox="" referrerpolicy="no-referrer"' in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]

    part = session.get(f"{live_server.url}/dev/mailbox/{caught.stem}/html/", allow_redirects=False)
    assert part.status_code == 200 and part.text.strip() == HOSTILE_HTML
    policy = part.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "script-src" not in policy and "img-src data:" in policy
    assert part.headers["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.parametrize("who", ["anonymous", "person"])
def test_anyone_but_staff_is_refused_and_sees_nothing(live_server, caught, make_user, who):
    session = requests.Session() if who == "anonymous" else session_for(make_user("bob"))
    for path in ("/dev/mailbox/", f"/dev/mailbox/{caught.stem}/html/"):
        response = session.get(f"{live_server.url}{path}", allow_redirects=False)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login/")
        assert SUBJECT not in response.text and "<h1>Hi" not in response.text


def test_with_debug_off_the_mailbox_does_not_exist_even_for_staff(live_server, caught, staff, settings):
    settings.DEBUG = False
    session = session_for(staff)
    for path in ("/dev/mailbox/", f"/dev/mailbox/{caught.stem}/html/"):
        response = session.get(f"{live_server.url}{path}", allow_redirects=False)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert SUBJECT not in response.text
    assert requests.get(f"{live_server.url}/dev/mailbox/", allow_redirects=False).status_code == 404


def test_a_name_that_is_not_a_caught_message_reads_no_file(live_server, caught, staff, tmp_path):
    (tmp_path.parent / "outside.eml").write_bytes(raw_message(subject="Outside"))
    session = session_for(staff)
    for path in ("..%2Foutside", "00000000000000000000-00000000", f"{caught.stem}x"):
        response = session.get(f"{live_server.url}/dev/mailbox/{path}/html/", allow_redirects=False)
        assert response.status_code == 404
        assert "Outside" not in response.text


def test_nothing_is_written_by_a_post(live_server, caught, staff, tmp_path):
    session = session_for(staff)
    response = session.post(f"{live_server.url}/dev/mailbox/", data={"x": "1"}, allow_redirects=False)
    assert response.status_code in (403, 405)  # CSRF or the method: refused either way
    assert sorted(p.name for p in tmp_path.iterdir()) == [caught.name]
