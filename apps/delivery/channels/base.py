"""The one interface every delivery channel implements.

Rendering is separate from sending: `render` turns a delivery into a Message (no I/O
to providers), `send_batch` talks to the provider for many messages at once and
answers one SendResult per message, never raising for a single message's failure.

What a crash may cost is set here: `send_batch(messages, report)` calls
`report(result, ...)` with each answer as soon as the provider gave it, and before it
sends the next message over the same connection. `report` is thread-safe (one sending
thread per connection) and blocks once that connection has DELIVERY_ACCEPTANCE_WINDOW
acceptances unrecorded, until they are recorded (see apps/delivery/acceptance.py), so a
process killed mid-batch resends at most that many per open connection. It raises
BatchStopped when the batch must end (its task's soft time limit): the sender stops
sending and lets it (and SoftTimeLimitExceeded) through.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from celery.exceptions import SoftTimeLimitExceeded

from ..outcomes import Outcome

__all__ = [
    "BATCH_STOPS",
    "BatchStopped",
    "DeliveryChannel",
    "Message",
    "Outcome",
    "Provider",
    "Report",
    "SendResult",
    "no_report",
]


class BatchStopped(Exception):
    """The batch is over (its task hit the soft time limit): send nothing more."""


# What a sender's broad `except Exception` must let through: not a provider failure,
# the end of the batch.
BATCH_STOPS = (BatchStopped, SoftTimeLimitExceeded)


@dataclass
class Message:
    delivery_id: int
    user_id: int | None  # None for a send to an address that is no user
    to: str  # address on this channel: email, E.164 number, endpoint URL, ...
    subject: str
    text: str
    html: str = ""
    data: dict = field(default_factory=dict)
    url: str = ""
    headers: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # channel specific (push keys, webhook secret id, ...)


@dataclass
class SendResult:
    delivery_id: int
    outcome: Outcome
    provider_message_id: str = ""
    error: str = ""
    # What the provider answered, recorded on the DeliveryEvent.
    detail: dict = field(default_factory=dict)
    # A provider's Retry-After, when it gave one.
    retry_after: float | None = None


# report(*results): records the given answers before returning (see the module doc).
Report = Callable[..., None]


def no_report(*results: "SendResult") -> None:
    """The report of a send_batch called outside dispatch (a test, a shell)."""


class Provider(Protocol):
    """One way out for a channel (SMTP, SendGrid, Twilio). Its name keys the shared
    rate limit and circuit breaker."""

    name: str
    batch_size: int

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]: ...

    def classify(self, exc: Exception) -> Outcome: ...


class DeliveryChannel(Protocol):
    key: str
    # Most messages one send_batch call takes.
    batch_size: int

    def render(self, delivery) -> Message | None:
        """The message for a delivery, or None when the person has no address on this
        channel (the delivery then fails permanently)."""

    def send_batch(self, messages: list[Message], report: Report = no_report) -> list[SendResult]:
        """Send; one result per message, in any order, each also given to `report` as
        soon as the provider answered it and before the next message goes over the
        same connection."""

    def classify(self, exc: Exception) -> Outcome:
        """Whether an exception raised by the provider is worth a retry."""

    # Optional: `narrow_queryset(queryset) -> queryset` loads only what `render` reads
    # (a batch instantiates every row; fewer columns and models cost less).
    # Optional: `messages_prepare(messages)`, called once a batch is rendered and before
    # any of it is sent, for what the batch needs written first in one statement
    # (email: the links of tracked emails).
    # Optional: `providers() -> list[Provider]`, in order of preference. A channel that
    # has it is sent through the first provider whose circuit lets it, within that
    # provider's shared rate limit (see dispatch.py); one without it is sent directly.
