"""The mail catcher process (the Procfile's `mailcatcher`) keeps each message it is sent
over SMTP as a file, newest first when read, and only the newest MAIL_CATCHER_KEEP."""

import pytest

from apps.mailcatcher.selectors import caught_message_list

from .process import CatcherProcess


@pytest.fixture
def catcher(tmp_path):
    process = CatcherProcess(tmp_path / "mail", keep=3).start()
    yield process
    process.stop()


def test_keeps_each_message_with_its_headers_and_both_parts(catcher):
    catcher.send("First", to="ann@example.com", html="<h1>One</h1>")
    catcher.send("Second", html=None)

    second, first = caught_message_list(directory=catcher.directory)
    assert (first.subject, first.sender, first.to) == ("First", "notifications@localhost", "ann@example.com")
    assert first.html.strip() == "<h1>One</h1>" and first.text.strip() == "First (text)"
    assert first.date is not None and first.date <= second.date
    assert second.subject == "Second" and second.html is None
    assert len(list(catcher.directory.glob("*.eml"))) == 2


def test_keeps_only_the_newest_messages(catcher):
    for number in range(7):
        catcher.send(f"Message {number}")

    assert [m.subject for m in caught_message_list(directory=catcher.directory)] == [
        "Message 6",
        "Message 5",
        "Message 4",
    ]
    assert len(list(catcher.directory.iterdir())) == 3  # no partial files left behind either


def test_stops_cleanly_on_sigterm_as_honcho_sends_it(catcher):
    catcher.send("Before the stop")
    assert catcher.stop() == 0
    assert [m.subject for m in caught_message_list(directory=catcher.directory)] == ["Before the stop"]
