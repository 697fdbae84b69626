"""The SMTP provider against a server that is not there, and one that is."""

import pytest

from apps.delivery.channels.base import Message, Outcome
from apps.delivery.channels.email import SmtpProvider

from ..sinks import SmtpSink, free_port


def messages(count):
    return [
        Message(delivery_id=i, user_id=i, to=f"p{i}@example.com", subject="s", text="t", headers={})
        for i in range(count)
    ]


@pytest.fixture
def settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # pytest-django swaps in locmem
    return settings


def test_unreachable_server_makes_every_message_transient_after_two_tries(settings):
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    settings.EMAIL_SMTP_PARALLEL_CONNECTIONS = 1
    results = SmtpProvider().send_batch(messages(5))
    assert [r.outcome for r in results] == [Outcome.TRANSIENT] * 5
    assert "ConnectionRefusedError" in results[0].error
    assert results[-1].error == "SMTP server unreachable"  # no more connection attempts


@pytest.mark.parametrize("parallel", [1, 3])
def test_batch_over_shared_connections_each_recipient_answered(settings, parallel):
    sink = SmtpSink().start()
    try:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_SMTP_PARALLEL_CONNECTIONS = parallel
        batch = messages(60)
        batch[7].to = "refuse-7@example.com"
        results = {r.delivery_id: r for r in SmtpProvider().send_batch(batch)}
        assert len(results) == 60
        assert results[7].outcome == Outcome.PERMANENT and results[7].detail["smtp_code"] == 550
        assert all(r.outcome == Outcome.SENT for i, r in results.items() if i != 7)
        assert len(sink.messages) == 59
        assert sink.sessions == parallel  # one connection per share, reused for all its messages
    finally:
        sink.stop()


def test_a_non_smtp_backend_gets_whole_messages(settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    results = SmtpProvider().send_batch(messages(3))
    assert [r.outcome for r in results] == [Outcome.SENT] * 3
    assert [m.to for m in mailoutbox] == [["p0@example.com"], ["p1@example.com"], ["p2@example.com"]]
    assert mailoutbox[0].extra_headers["Message-ID"] == results[0].provider_message_id
