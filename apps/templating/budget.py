"""The budget of one operator template render: a wall-clock deadline and a cap on the
characters it writes and on any value it builds (settings TEMPLATE_RENDER_MAX_SECONDS,
TEMPLATE_OUTPUT_MAX_CHARS). The sandbox (apps.templating.sandbox) calls these checks;
over budget they raise BudgetExceeded.
"""

import contextvars
import inspect
import time
from contextlib import contextmanager

from django.conf import settings


class BudgetExceeded(Exception):
    """A render went over its time or size budget."""


class _Budget:
    def __init__(self, seconds: float, max_chars: int):
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds
        self.max_chars = max_chars
        self.output = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(f"rendering took longer than {self.seconds:g} s")

    def spend(self, chars: int) -> None:
        self.output += chars
        if self.output > self.max_chars:
            raise BudgetExceeded(f"output longer than {self.max_chars} characters")
        self.tick()


_current: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("template_budget", default=None)


def budget_max_chars() -> int:
    budget = _current.get()
    return budget.max_chars if budget else settings.TEMPLATE_OUTPUT_MAX_CHARS


def budget_tick() -> None:
    budget = _current.get()
    if budget is not None:
        budget.tick()


def budget_refuse_if_over(chars: int, what: str) -> None:
    if chars > budget_max_chars():
        raise BudgetExceeded(f"{what} would be longer than {budget_max_chars()} characters")


def budget_checked(value):
    """The value, when its size is within the cap; a lazy iterator comes back budgeted."""
    if isinstance(value, str | list | tuple | dict | set):
        budget_refuse_if_over(len(value), "a value")
    elif inspect.isgenerator(value):
        return budget_loop(value)
    return value


def budget_loop(iterable):
    for item in iterable:
        budget_tick()
        yield item


def budget_written(chars: int) -> None:
    budget = _current.get()
    if budget is not None:
        budget.spend(chars)


@contextmanager
def budget_active(*, seconds: float | None = None, max_chars: int | None = None):
    """Every render of a stored template inside this block shares one budget."""
    budget = _Budget(
        settings.TEMPLATE_RENDER_MAX_SECONDS if seconds is None else seconds,
        settings.TEMPLATE_OUTPUT_MAX_CHARS if max_chars is None else max_chars,
    )
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def render_budgeted(template, context: dict) -> str:
    """Render streaming: each piece was counted as it was written; the clock is checked
    between pieces too."""
    parts = []
    for chunk in template.generate(context):
        budget_tick()
        parts.append(chunk)
    return "".join(parts)
