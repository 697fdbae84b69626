"""Jinja2's filters that could build a huge value in one C call, before the size cap
of the budget could see it (`'x'|center(10**9)`): the same filters with their arguments
checked first against apps.templating.budget."""

import re

from jinja2 import pass_environment, pass_eval_context
from jinja2.filters import (
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

from .budget import BudgetExceeded, budget_loop, budget_max_chars, budget_refuse_if_over

# A %-format conversion's width or precision: "%999999999s", "%(name)999999999s", "%.*f".
_PERCENT_WIDTH = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
# JSON indentation beyond this is no layout, only a way to multiply the output.
TOJSON_MAX_INDENT = 16


def _center(value, width=80):
    budget_refuse_if_over(width if isinstance(width, int) else 0, "center()")
    return do_center(value, width)


def _indent(s, width=4, first=False, blank=False):
    per_line = width if isinstance(width, int) else len(str(width))
    budget_refuse_if_over(per_line * (str(s).count("\n") + 1) + len(str(s)), "indent()")
    return do_indent(s, width, first, blank)


@pass_eval_context
def _replace(eval_ctx, s, old, new, count=None):
    text, old, new = str(s), str(old), str(new)
    occurrences = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        occurrences = min(occurrences, count)
    budget_refuse_if_over(len(text) + occurrences * max(len(new) - len(old), 0), "replace()")
    return do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _join(eval_ctx, value, d="", attribute=None):
    items = list(budget_loop(value))
    budget_refuse_if_over(len(str(d)) * len(items), "join()")
    return sync_do_join(eval_ctx, items, d, attribute)


def percent_format_check(fmt: str) -> None:
    for width, precision in _PERCENT_WIDTH.findall(fmt):
        for number in (width, precision):
            if number == "*" or (number and int(number) > budget_max_chars()):
                raise BudgetExceeded("a %-format width beyond the output budget")


def _format(value, *args, **kwargs):
    percent_format_check(str(value))
    return do_format(value, *args, **kwargs)


@pass_environment
def _wordwrap(environment, s, width=79, break_long_words=True, wrapstring=None, break_on_hyphens=True):
    wrap = environment.newline_sequence if wrapstring is None else str(wrapstring)
    budget_refuse_if_over(len(str(s)) + len(wrap) * (len(str(s)) // max(int(width), 1) + 1), "wordwrap()")
    return do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)


def _batch(value, linecount, fill_with=None):
    # The last batch is padded to linecount in one step.
    budget_refuse_if_over(int(linecount), "batch()")
    return do_batch(value, linecount, fill_with)


@pass_environment
def _sum(environment, iterable, attribute=None, start=0):
    items = list(budget_loop(iterable))
    if isinstance(start, str | list | tuple) or any(isinstance(item, str | list | tuple) for item in items):
        # Summing sequences concatenates them, one growing copy per item.
        budget_refuse_if_over(sum(len(item) for item in items if isinstance(item, str | list | tuple)), "sum()")
    return sync_do_sum(environment, items, attribute, start)


@pass_eval_context
def _tojson(eval_ctx, value, indent=None):
    if isinstance(indent, int) and indent > TOJSON_MAX_INDENT:
        raise BudgetExceeded(f"tojson(indent) above {TOJSON_MAX_INDENT}")
    return do_tojson(eval_ctx, value, indent)


BOUNDED_FILTERS = {
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
