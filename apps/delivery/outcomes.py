"""What a provider's answer means for one message: the vocabulary the channels speak
and the services that record their results read."""

from enum import StrEnum


class Outcome(StrEnum):
    SENT = "sent"  # the provider accepted it
    TRANSIENT = "transient"  # timeouts, connection errors, 429, 5xx: retry later
    PERMANENT = "permanent"  # bad address, other 4xx: fail now, never retry
    # Not tried: the provider's circuit is open or its rate limit is spent. Sent again
    # later without using up an attempt.
    DEFERRED = "deferred"
