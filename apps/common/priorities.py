"""Priorities and the queues they travel on.

Work of each kind (the fan-out, or one channel's dispatch) has one queue per priority:
`<kind>.critical`, `<kind>.high`, `<kind>` (normal keeps the plain name) and `<kind>.low`.
Workers that consume only the critical and high queues (see the Procfile) make sure a
flood of low-priority sends never waits in front of a critical one.

Pure Python: the settings import it.
"""

CRITICAL, HIGH, NORMAL, LOW = "critical", "high", "normal", "low"
PRIORITIES = (CRITICAL, HIGH, NORMAL, LOW)
PRIORITY_CHOICES = [(p, p.title()) for p in PRIORITIES]
URGENT = (CRITICAL, HIGH)


def queue_for(kind: str, priority: str = NORMAL) -> str:
    """The queue for `kind` work (a channel key, or "fanout") at a priority."""
    if priority not in PRIORITIES:
        raise ValueError(f"Unknown priority {priority!r}")
    return kind if priority == NORMAL else f"{kind}.{priority}"


def fanout_queue_for(priority: str = NORMAL) -> str:
    return queue_for("fanout", priority)


def priority_queues(kinds, priorities=PRIORITIES) -> list[str]:
    """Every queue of the given kinds and priorities, highest priority first."""
    return [queue_for(kind, priority) for priority in priorities for kind in kinds]
