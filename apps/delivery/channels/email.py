"""The `email` channel: SMTP through Django's mail backend, or SendGrid.

EMAIL_PROVIDER names the primary; the other one (when configured) takes over while the
primary's circuit is open (see dispatch.py).

SMTP sends a whole batch over few connections: the batch is split into
EMAIL_SMTP_PARALLEL_CONNECTIONS shares, each sent over one connection opened once, so
the round trips of one connection overlap with the MIME building of another.
Every recipient's answer is classified on its own: 5xx (recipient refused, message
rejected) is permanent, 4xx and lost connections are transient.
"""

import smtplib
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils.module_loading import import_string

from ..engagement import tracked_emails_record
from ..rendering import stored_template_render
from .base import BATCH_STOPS, Message, Outcome, Report, SendResult, no_report
from .email_content import ContentCache, email_address, email_message, stored_content
from .email_mime import WireEmail, django_email, wire_emails
from .email_tracking import email_tracked, tracking_enabled
from .registry import register

# After this many connection failures in a row a share gives up: the server is down,
# and trying each remaining message would only wait out more timeouts.
MAX_CONNECT_FAILURES = 2


def smtp_code(exc: Exception) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return min(codes) if codes else None
    return getattr(exc, "smtp_code", None)


def classify_smtp(exc: Exception) -> Outcome:
    code = smtp_code(exc)
    if code is not None and 500 <= code < 600:
        return Outcome.PERMANENT
    return Outcome.TRANSIENT  # 4xx, timeouts, refused or dropped connections


def _smtp_detail(exc: Exception) -> dict:
    detail = {"smtp_code": smtp_code(exc)}
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        detail["smtp_reply"] = {addr: reply.decode(errors="replace") for addr, (_, reply) in exc.recipients.items()}
    elif isinstance(exc, smtplib.SMTPResponseException):
        detail["smtp_reply"] = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        )
    return detail


def _abort(backend) -> None:
    """Drop the connection without QUIT: a server stalled in the middle of a message
    would not answer it either."""
    if backend.connection is not None:
        backend.connection.close()
        backend.connection = None


class SmtpProvider:
    name = "smtp"
    batch_size = 1000

    def classify(self, exc: Exception) -> Outcome:
        return classify_smtp(exc)

    def _send_share(self, emails: list[WireEmail], report: Report, stop: threading.Event) -> list[SendResult]:
        """Send over one connection (Django's SMTP backend), reopened only after it is
        lost, or one per message when reuse is off. Each answer is reported (recorded)
        before the next message goes out."""
        backend = get_connection(fail_silently=False)
        reuse = settings.EMAIL_SMTP_REUSE_CONNECTION
        results, connect_failures = [], 0

        def answer(result: SendResult) -> None:
            results.append(result)
            report(result)

        try:
            for index, email in enumerate(emails):
                if stop.is_set():
                    break  # the batch is over; the rest is left to dispatch
                if connect_failures >= MAX_CONNECT_FAILURES:
                    error = "SMTP server unreachable"
                    rest = [SendResult(e.message.delivery_id, Outcome.TRANSIENT, error=error) for e in emails[index:]]
                    results.extend(rest)
                    report(*rest)
                    break
                try:
                    backend.open()
                except BATCH_STOPS:
                    raise
                except Exception as exc:  # noqa: BLE001 - refused, timed out, TLS or login failed
                    # Whatever the server answered while connecting concerns the
                    # connection, not this recipient: transient.
                    connect_failures += 1
                    backend.close()
                    answer(self._failed(email.message, exc, Outcome.TRANSIENT))
                    continue
                try:
                    backend.connection.sendmail(email.from_address, [email.to_address], email.data)
                    if not reuse:
                        backend.close()
                except BATCH_STOPS:
                    raise
                except Exception as exc:  # noqa: BLE001 - classified per recipient
                    if not isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
                        connect_failures += 1
                        backend.close()
                    answer(self._failed(email.message, exc))
                else:
                    connect_failures = 0
                    answer(SendResult(email.message.delivery_id, Outcome.SENT, email.message_id, detail={"smtp": 250}))
        except BATCH_STOPS:
            _abort(backend)
            raise
        finally:
            backend.close()
        return results

    def _failed(self, message: Message, exc: Exception, outcome: Outcome | None = None) -> SendResult:
        return SendResult(
            message.delivery_id,
            outcome or self.classify(exc),
            error=f"{exc.__class__.__name__}: {exc}",
            detail=_smtp_detail(exc),
        )

    def _send_other_backend(self, messages: list[Message], report: Report) -> list[SendResult]:
        """A non-SMTP Django backend (console, file, memory): handed whole messages."""
        backend = get_connection(fail_silently=False)
        results = []
        with backend:
            for message in messages:
                email, message_id = django_email(message)
                try:
                    backend.send_messages([email])
                except BATCH_STOPS:
                    raise
                except Exception as exc:  # noqa: BLE001 - classified per message
                    result = self._failed(message, exc)
                else:
                    result = SendResult(message.delivery_id, Outcome.SENT, message_id)
                results.append(result)
                report(result)
        return results

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        if not issubclass(import_string(settings.EMAIL_BACKEND), SmtpBackend):
            return self._send_other_backend(messages, report)
        emails = wire_emails(messages)
        shares = max(1, min(settings.EMAIL_SMTP_PARALLEL_CONNECTIONS, len(emails) // 20))
        stop = threading.Event()
        if shares == 1:
            return self._send_share(emails, report, stop)
        pool = ThreadPoolExecutor(max_workers=shares, thread_name_prefix="smtp")
        try:
            shares_of = [emails[i::shares] for i in range(shares)]
            parts = pool.map(lambda share: self._send_share(share, report, stop), shares_of)
            return [result for part in parts for result in part]
        except BaseException:
            # The batch ends now (the soft time limit): no share starts another
            # message, and one stalled in a send is not waited for.
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=False)


# What rendering an email reads (email_content.py and its template context).
RENDER_FIELDS = [
    "channel",
    "notification__title",
    "notification__body",
    "notification__url",
    "notification__data",
    "notification__event_id",
    "notification__user__email",
    "notification__address",
    "notification__event__data",
    "notification__event__event_type__key",
    "notification__event__event_type__name",
    # What a stored template's context reads (apps.templating.context), so rendering one
    # costs no query per message.
    "notification__user__username",
    "notification__user__first_name",
    "notification__user__last_name",
    "notification__user__profile__locale",
    "notification__user__profile__timezone",
    "notification__event__subject_type",
    "notification__event__subject_id",
    "notification__event__created_at",
    "notification__event__actor__username",
    "notification__event__event_type__critical",
    "notification__event__batch_key",
]


class EmailChannel:
    key = "email"

    def __init__(self):
        self.content = ContentCache()

    @property
    def batch_size(self) -> int:
        return settings.EMAIL_BATCH_SIZE

    def narrow_queryset(self, queryset):
        return (
            queryset.select_related(None)
            .select_related(
                "notification__user__profile", "notification__event__event_type", "notification__event__actor"
            )
            .only(*RENDER_FIELDS)
        )

    def render(self, delivery) -> Message | None:
        if "@" not in email_address(delivery.notification):
            return None
        stored = stored_template_render(delivery)
        content = stored_content(stored) if stored else self.content.get(delivery.notification)
        message = email_message(delivery, content)
        if content[2] and tracking_enabled(stored):
            return email_tracked(message, content, template_id=stored.template_id if stored else None)
        return message

    def messages_prepare(self, messages: list[Message]) -> None:
        """Record the links of the batch's tracked emails, in one statement, before any
        is sent: a click can come as soon as one arrives."""
        tracked_emails_record(emails={m.delivery_id: m.extra["tracking"] for m in messages if "tracking" in m.extra})

    def providers(self) -> list:
        from .email_sendgrid import SendGridProvider, sendgrid_configured

        smtp = SmtpProvider()
        sendgrid = [SendGridProvider()] if sendgrid_configured() else []
        if settings.EMAIL_PROVIDER == "sendgrid":
            return [*sendgrid, smtp] if sendgrid else [smtp]
        return [smtp, *sendgrid]

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        return self.providers()[0].send_batch(messages, report)

    def classify(self, exc: Exception) -> Outcome:
        return classify_smtp(exc)


register(EmailChannel())
