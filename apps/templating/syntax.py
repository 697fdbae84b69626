"""Django template syntax → Jinja2, for stored templates written before operator
templates moved to Jinja2 (migration 0002 applies it to every stored version).

Django's `{{ x }}`, `{% if %}`/`{% elif %}`/`{% else %}` and `{% for x in y %}` are
already Jinja2. What differs and is rewritten here:
- filter arguments: `x|upper`, `x|truncatechars:20` → `x|truncate(20)`; Django's
  `default` replaces any false value, so `x|default:"none"` → `x|default("none", true)`;
- `forloop.counter` / `counter0` / `first` / `last` / `revcounter` → `loop.index` /
  `index0` / `first` / `last` / `revindex`; `{% empty %}` → `{% else %}`;
- `{% comment %}…{% endcomment %}` → `{# … #}`;
- `{% firstof a b "c" %}` → `{{ a or b or "c" }}`;
- `x.items` / `.keys` / `.values` at the end of a for loop's sequence → called: `x.items()`.
Anything else Django-only (custom tags, `{% url %}`) stays as written: such a version
fails to compile and keeps falling back, as a broken template always did.
"""

import re

_FILTER_RENAMES = {"truncatechars": "truncate"}
_FORLOOP = {
    "counter0": "index0",
    "counter": "index",
    "revcounter0": "revindex0",
    "revcounter": "revindex",
    "first": "first",
    "last": "last",
}
_TAG = re.compile(r"({{.*?}}|{%.*?%})", re.S)
_FILTER_ARG = re.compile(r"\|(\w+):(\"[^\"]*\"|'[^']*'|[\w.]+)")
_FILTER_NAME = re.compile(r"\|(\w+)")
_FORLOOP_ATTR = re.compile(r"\bforloop\.(" + "|".join(_FORLOOP) + r")\b")
_FOR_METHOD = re.compile(r"^({%-?\s*for\s.+?\sin\s+[\w.]+\.(?:items|keys|values))(\s*-?%})$", re.S)
_FIRSTOF = re.compile(r"^{%-?\s*firstof\s+(.+?)\s*-?%}$", re.S)
_COMMENT = re.compile(r"{%\s*comment\s*%}(.*?){%\s*endcomment\s*%}", re.S)


def _filter_with_argument(match: re.Match) -> str:
    name, argument = match.group(1), match.group(2)
    if name == "default":
        return f"|default({argument}, true)"
    return f"|{_FILTER_RENAMES.get(name, name)}({argument})"


def _tag(match: re.Match) -> str:
    tag = match.group(0)
    firstof = _FIRSTOF.match(tag)
    if firstof:
        return "{{ " + " or ".join(re.findall(r"\"[^\"]*\"|'[^']*'|\S+", firstof.group(1))) + " }}"
    if re.fullmatch(r"{%-?\s*empty\s*-?%}", tag):
        return "{% else %}"
    tag = _FILTER_ARG.sub(_filter_with_argument, tag)
    tag = _FILTER_NAME.sub(lambda m: f"|{_FILTER_RENAMES.get(m.group(1), m.group(1))}", tag)
    tag = _FORLOOP_ATTR.sub(lambda m: f"loop.{_FORLOOP[m.group(1)]}", tag)
    return _FOR_METHOD.sub(r"\1()\2", tag)


def django_to_jinja(source: str) -> str:
    source = _COMMENT.sub(lambda m: "{#" + m.group(1).replace("#}", "# }") + "#}", source or "")
    return _TAG.sub(_tag, source)
