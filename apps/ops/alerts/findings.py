"""What a condition found: one alert that holds now, with what an operator needs."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Finding:
    # "<condition>:<subject>", e.g. "circuit_open:smtp"; one incident per key.
    key: str
    title: str
    # When the trouble began as far as the data tells (the oldest message's publishing,
    # the circuit's opening), else None.
    since: datetime | None
    # Label → value, quoted in the message in this order.
    figures: dict[str, str] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    # Label → path on the service (the admin) or absolute URL.
    links: dict[str, str] = field(default_factory=dict)

    @property
    def condition(self) -> str:
        return condition_of(self.key)


def condition_of(key: str) -> str:
    return key.split(":", 1)[0]


def duration_text(seconds: float) -> str:
    """3 s, 4 min 10 s, 2 h 5 min, 3 d 4 h: as an operator reads it at a glance."""
    seconds = int(max(seconds, 0))
    for unit, size, smaller, smaller_size in (("d", 86400, "h", 3600), ("h", 3600, "min", 60), ("min", 60, "s", 1)):
        if seconds >= size:
            whole, rest = divmod(seconds, size)
            rest //= smaller_size
            return f"{whole} {unit} {rest} {smaller}" if rest else f"{whole} {unit}"
    return f"{seconds} s"
