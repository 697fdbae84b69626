"""The one interface every delivery channel implements.

Rendering is separate from sending: `render` turns a delivery into a Message (no I/O
to providers), `send_batch` talks to the provider for many messages at once and
answers one SendResult per message, never raising for a single message's failure.
"""

from dataclasses import dataclass, field
from typing import Protocol

from ..outcomes import Outcome

__all__ = ["DeliveryChannel", "Message", "Outcome", "Provider", "SendResult"]


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


class Provider(Protocol):
    """One way out for a channel (SMTP, SendGrid, Twilio). Its name keys the shared
    rate limit and circuit breaker."""

    name: str
    batch_size: int

    def send_batch(self, messages: list[Message]) -> list[SendResult]: ...

    def classify(self, exc: Exception) -> Outcome: ...


class DeliveryChannel(Protocol):
    key: str
    # Most messages one send_batch call takes.
    batch_size: int

    def render(self, delivery) -> Message | None:
        """The message for a delivery, or None when the person has no address on this
        channel (the delivery then fails permanently)."""

    def send_batch(self, messages: list[Message]) -> list[SendResult]:
        """Send; one result per message, in any order."""

    def classify(self, exc: Exception) -> Outcome:
        """Whether an exception raised by the provider is worth a retry."""

    # Optional: `narrow_queryset(queryset) -> queryset` loads only what `render` reads
    # (a batch instantiates every row; fewer columns and models cost less).
    # Optional: `providers() -> list[Provider]`, in order of preference. A channel that
    # has it is sent through the first provider whose circuit lets it, within that
    # provider's shared rate limit (see dispatch.py); one without it is sent directly.
