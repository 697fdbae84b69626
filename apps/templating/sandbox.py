"""The engine operators' stored templates render in: Jinja2's ImmutableSandboxedEnvironment
with a budget per render.

The sandbox (Jinja2's, not ours) refuses what would let a template change or reach
beyond its context: underscore attributes, Python internals, and every method that
modifies a list, dict or set (`{{ data.clear() }}` raises; `{{ data.clear }}` prints
nothing); it also caps `range()` at 100,000 items.

The budget adds what the sandbox does not bound, time and size:
- a wall-clock deadline, checked at every loop iteration (each `{% for %}` iterates
  through `_budget_loop`, put in by rewriting the parsed template), every call, every
  filter and every piece of output, so nested loops, recursive macros and lazy filters
  (`slice`, `batch`) stop;
- a size cap on what the template writes, counted as each piece is written (every
  output node goes through `_budget_output`, so text captured by `{% set %}…{% endset %}`,
  `{% filter %}`, macros and `{% call %}` counts too, not only what streams out of
  Template.generate), and on every value a filter, a call, `~` or `+` builds on the way;
- the operations that could build a huge value in one step, before the cap can see it,
  are checked first: `*` (`'x' * 10**9`), `**` (`10**10**10`), `%` with a wide format,
  and the filters center, indent, replace, join, format, wordwrap, batch, sum and tojson; str methods that
  pad or repeat (`'x'.ljust(10**9)`, `.format`) are not callable at all (use the filters).
Over budget, BudgetExceeded is raised; template_render then falls back to the default
template and records why, like for any other failing template.
"""

import contextvars
import functools
import inspect
import re
import time
from contextlib import contextmanager

from django.conf import settings
from jinja2 import ChainableUndefined, nodes, pass_context, pass_environment, pass_eval_context
from jinja2.filters import (
    FILTERS,
    do_batch,
    do_center,
    do_format,
    do_indent,
    do_replace,
    do_tojson,
    do_wordwrap,
    sync_do_join,
    sync_do_sum,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from apps.common.links import link_or_empty

# Big enough for any real number in a template, far below what costs time to compute.
INT_MAX_BITS = 4096
# str methods that can build a value far larger than their inputs in one C call.
_AMPLIFYING_STR_METHODS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join", "format", "format_map", "translate"}
)
# A %-format conversion's width or precision: "%999999999s", "%(name)999999999s", "%.*f".
_PERCENT_WIDTH = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
# JSON indentation beyond this is no layout, only a way to multiply the output.
TOJSON_MAX_INDENT = 16


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


def _max_chars() -> int:
    budget = _current.get()
    return budget.max_chars if budget else settings.TEMPLATE_OUTPUT_MAX_CHARS


def _tick() -> None:
    budget = _current.get()
    if budget is not None:
        budget.tick()


def _refuse_if_over(chars: int, what: str) -> None:
    if chars > _max_chars():
        raise BudgetExceeded(f"{what} would be longer than {_max_chars()} characters")


def _checked(value):
    """The value, when its size is within the cap; a lazy iterator comes back budgeted."""
    if isinstance(value, str | list | tuple | dict | set):
        _refuse_if_over(len(value), "a value")
    elif inspect.isgenerator(value):
        return _budget_loop(value)
    return value


def _budget_loop(iterable):
    for item in iterable:
        _tick()
        yield item


def _written(chars: int) -> None:
    budget = _current.get()
    if budget is not None:
        budget.spend(chars)


# pass_context keeps Jinja2 from folding these at compile time, when no budget runs.
@pass_context
def _loop_filter(context, iterable):
    return _budget_loop(iterable)


@pass_context
def _budget_output(context, value):
    """A value being written: counted (as the text it becomes) against the budget."""
    text = value if isinstance(value, str) else str(value)
    _written(len(text))
    return text


@pass_context
def _budget_template_data(context, text):
    """The template's own literal text being written: counted, and still markup."""
    _written(len(text))
    return Markup(text)  # noqa: S704 - the template's own source text, never data


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
        _tick()
        parts.append(chunk)
    return "".join(parts)


# Filters that could build a huge value in one step: their arguments are checked first.
def _center(value, width=80):
    _refuse_if_over(width if isinstance(width, int) else 0, "center()")
    return do_center(value, width)


def _indent(s, width=4, first=False, blank=False):
    per_line = width if isinstance(width, int) else len(str(width))
    _refuse_if_over(per_line * (str(s).count("\n") + 1) + len(str(s)), "indent()")
    return do_indent(s, width, first, blank)


@pass_eval_context
def _replace(eval_ctx, s, old, new, count=None):
    text, old, new = str(s), str(old), str(new)
    occurrences = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        occurrences = min(occurrences, count)
    _refuse_if_over(len(text) + occurrences * max(len(new) - len(old), 0), "replace()")
    return do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _join(eval_ctx, value, d="", attribute=None):
    items = list(_budget_loop(value))
    _refuse_if_over(len(str(d)) * len(items), "join()")
    return sync_do_join(eval_ctx, items, d, attribute)


def _percent_format_check(fmt: str) -> None:
    for width, precision in _PERCENT_WIDTH.findall(fmt):
        for number in (width, precision):
            if number == "*" or (number and int(number) > _max_chars()):
                raise BudgetExceeded("a %-format width beyond the output budget")


def _format(value, *args, **kwargs):
    _percent_format_check(str(value))
    return do_format(value, *args, **kwargs)


@pass_environment
def _wordwrap(environment, s, width=79, break_long_words=True, wrapstring=None, break_on_hyphens=True):
    wrap = environment.newline_sequence if wrapstring is None else str(wrapstring)
    _refuse_if_over(len(str(s)) + len(wrap) * (len(str(s)) // max(int(width), 1) + 1), "wordwrap()")
    return do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)


def _batch(value, linecount, fill_with=None):
    # The last batch is padded to linecount in one step.
    _refuse_if_over(int(linecount), "batch()")
    return do_batch(value, linecount, fill_with)


@pass_environment
def _sum(environment, iterable, attribute=None, start=0):
    items = list(_budget_loop(iterable))
    if isinstance(start, str | list | tuple) or any(isinstance(item, str | list | tuple) for item in items):
        # Summing sequences concatenates them, one growing copy per item.
        _refuse_if_over(sum(len(item) for item in items if isinstance(item, str | list | tuple)), "sum()")
    return sync_do_sum(environment, items, attribute, start)


@pass_eval_context
def _tojson(eval_ctx, value, indent=None):
    if isinstance(indent, int) and indent > TOJSON_MAX_INDENT:
        raise BudgetExceeded(f"tojson(indent) above {TOJSON_MAX_INDENT}")
    return do_tojson(eval_ctx, value, indent)


_BOUNDED_FILTERS = {
    "batch": _batch,
    "sum": _sum,
    "tojson": _tojson,
    "center": _center,
    "indent": _indent,
    "replace": _replace,
    "join": _join,
    "format": _format,
    "wordwrap": _wordwrap,
}


def _budgeted_filter(function):
    """Every filter checks the clock before and the size of what it made after; the
    wrapper keeps the filter's pass_* marker (functools.wraps copies __dict__)."""

    @functools.wraps(function)
    def filtered(*args, **kwargs):
        _tick()
        return _checked(function(*args, **kwargs))

    return filtered


def _filtered(node, name: str):
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _BudgetRewrite(NodeTransformer):
    """Rewrites a parsed template: every loop iterates through `_budget_loop`, every
    piece written is counted by `_budget_output` / `_budget_template_data`, every
    `a ~ b` is size-checked by `_budget_size`. Filters, so a template cannot shadow them."""

    def visit_For(self, node):
        node = self.generic_visit(node)
        node.iter = _filtered(node.iter, "_budget_loop")
        return node

    def visit_Output(self, node):
        node = self.generic_visit(node)
        node.nodes = [
            _filtered(child, "_budget_template_data" if isinstance(child, nodes.TemplateData) else "_budget_output")
            for child in node.nodes
        ]
        return node

    def visit_Concat(self, node):
        node = self.generic_visit(node)
        return _filtered(node, "_budget_size")


def _int_bits(value) -> int:
    return abs(value).bit_length() if isinstance(value, int) and not isinstance(value, bool) else 0


class OperatorTemplateEnvironment(ImmutableSandboxedEnvironment):
    # Intercepted operators are also never folded at compile time.
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options):
        super().__init__(undefined=ChainableUndefined, **options)
        # Lorem ipsum of n paragraphs is a loop the budget cannot see into; not needed.
        self.globals.pop("lipsum", None)
        filters = {**FILTERS, **_BOUNDED_FILTERS, "safe_link": link_or_empty}
        self.filters = {name: _budgeted_filter(function) for name, function in filters.items()}
        self.filters["_budget_loop"] = _loop_filter
        self.filters["_budget_size"] = _checked
        self.filters["_budget_output"] = _budget_output
        self.filters["_budget_template_data"] = _budget_template_data

    def _parse(self, source, name, filename):
        return _BudgetRewrite().visit(super()._parse(source, name, filename))

    def call_binop(self, context, operator, left, right):
        _tick()
        if operator == "**" and isinstance(right, int) and right > 0 and _int_bits(left) > 1:
            if right * _int_bits(left) > INT_MAX_BITS:
                raise BudgetExceeded("a power beyond the budget")
        elif operator == "*":
            if _int_bits(left) + _int_bits(right) > INT_MAX_BITS:
                raise BudgetExceeded("a product beyond the budget")
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                    _refuse_if_over(len(sequence) * times, "a repetition")
        elif operator == "%" and isinstance(left, str):
            _percent_format_check(left)
        return _checked(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value):
        if super().wrap_str_format(value) is None:
            return None

        def refused(*args, **kwargs):
            raise SecurityError("str.format is not available in templates; use the format filter or ~")

        return refused

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja2's own signature)
        _tick()
        if isinstance(getattr(__obj, "__self__", None), str) and getattr(__obj, "__name__", "") in (
            _AMPLIFYING_STR_METHODS
        ):
            raise SecurityError(f"str.{__obj.__name__}() is not available in templates; use its filter")
        return _checked(super().call(__context, __obj, *args, **kwargs))
