"""The engine operators' stored templates render in: Jinja2's ImmutableSandboxedEnvironment
with a budget per render.

The sandbox (Jinja2's, not ours) refuses what would let a template change or reach
beyond its context: underscore attributes, Python internals, and every method that
modifies a list, dict or set (`{{ data.clear() }}` raises; `{{ data.clear }}` prints
nothing); it also caps `range()` at 100,000 items.

The budget (apps.templating.budget) adds what the sandbox does not bound, time and size:
- a wall-clock deadline, checked at every loop iteration (each `{% for %}` iterates
  through `_budget_loop`, put in by rewriting the parsed template), every call, every
  filter and every piece of output, so nested loops, recursive macros and lazy filters
  (`slice`, `batch`) stop;
- a size cap on what the template writes, counted as each piece is written (every
  output node goes through `_budget_output`, so text captured by `{% set %}…{% endset %}`,
  `{% filter %}`, macros and `{% call %}` counts too, not only what streams out of
  Template.generate), and on every value a filter, a call, `~` or `+` builds on the way;
- the operations that could build a huge value in one step, before the cap can see it,
  are checked first: `*` (`'x' * 10**9`), `**` (`2 ** 10000000`), `%` with a wide format,
  and the filters center, indent, replace, join, format, wordwrap, batch, sum and tojson
  (apps.templating.bounded_filters); str methods that pad or repeat (`'x'.ljust(10**9)`,
  `.format`) are not callable at all (use the filters).
Over budget, BudgetExceeded is raised; template_render then falls back to the default
template and records why, like for any other failing template.
"""

import functools

from jinja2 import ChainableUndefined, nodes, pass_context
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from apps.common.links import link_or_empty

from .bounded_filters import BOUNDED_FILTERS, percent_format_check
from .budget import BudgetExceeded, budget_checked, budget_loop, budget_refuse_if_over, budget_tick, budget_written

# Big enough for any real number in a template, far below what costs time to compute.
INT_MAX_BITS = 4096
# str methods that can build a value far larger than their inputs in one C call.
_AMPLIFYING_STR_METHODS = frozenset(
    {"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join", "format", "format_map", "translate"}
)


# pass_context keeps Jinja2 from folding these at compile time, when no budget runs.
@pass_context
def _loop_filter(context, iterable):
    return budget_loop(iterable)


@pass_context
def _budget_output(context, value):
    """A value being written: counted (as the text it becomes) against the budget."""
    text = value if isinstance(value, str) else str(value)
    budget_written(len(text))
    return text


@pass_context
def _budget_template_data(context, text):
    """The template's own literal text being written: counted, and still markup."""
    budget_written(len(text))
    return Markup(text)  # noqa: S704 - the template's own source text, never data


def _budgeted_filter(function):
    """Every filter checks the clock before and the size of what it made after; the
    wrapper keeps the filter's pass_* marker (functools.wraps copies __dict__)."""

    @functools.wraps(function)
    def filtered(*args, **kwargs):
        budget_tick()
        return budget_checked(function(*args, **kwargs))

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
        filters = {**FILTERS, **BOUNDED_FILTERS, "safe_link": link_or_empty}
        self.filters = {name: _budgeted_filter(function) for name, function in filters.items()}
        self.filters["_budget_loop"] = _loop_filter
        self.filters["_budget_size"] = budget_checked
        self.filters["_budget_output"] = _budget_output
        self.filters["_budget_template_data"] = _budget_template_data

    def _parse(self, source, name, filename):
        return _BudgetRewrite().visit(super()._parse(source, name, filename))

    def call_binop(self, context, operator, left, right):
        budget_tick()
        if operator == "**" and isinstance(right, int) and right > 0 and _int_bits(left) > 1:
            if right * _int_bits(left) > INT_MAX_BITS:
                raise BudgetExceeded("a power beyond the budget")
        elif operator == "*":
            if _int_bits(left) + _int_bits(right) > INT_MAX_BITS:
                raise BudgetExceeded("a product beyond the budget")
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                    budget_refuse_if_over(len(sequence) * times, "a repetition")
        elif operator == "%" and isinstance(left, str):
            percent_format_check(left)
        return budget_checked(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value):
        if super().wrap_str_format(value) is None:
            return None

        def refused(*args, **kwargs):
            raise SecurityError("str.format is not available in templates; use the format filter or ~")

        return refused

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja2's own signature)
        budget_tick()
        if isinstance(getattr(__obj, "__self__", None), str) and getattr(__obj, "__name__", "") in (
            _AMPLIFYING_STR_METHODS
        ):
            raise SecurityError(f"str.{__obj.__name__}() is not available in templates; use its filter")
        return budget_checked(super().call(__context, __obj, *args, **kwargs))
