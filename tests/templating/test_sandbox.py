"""Operator templates in the sandbox: they cannot change their data, and every kind of
runaway stops within the budget (apps.templating.sandbox, apps.templating.budget)."""

import re
import time

import pytest
from jinja2.sandbox import SecurityError

from apps.common.channels import Channel
from apps.templating import engines
from apps.templating.budget import BudgetExceeded, budget_active, render_budgeted
from apps.templating.models import TemplateVersion
from apps.templating.render import template_render
from apps.templating.services import template_create
from apps.templating.syntax import django_to_jinja


def render(source, data=None, html=False, seconds=0.5, max_chars=10_000):
    environment = engines.stored_html if html else engines.stored_text
    with budget_active(seconds=seconds, max_chars=max_chars):
        return render_budgeted(environment.from_string(source), {"data": data if data is not None else {}})


def test_methods_that_change_the_data_are_not_run():
    data = {"name": "Checkout", "items": [1, 2], "tags": {"a"}}
    # Printing an unsafe attribute prints nothing; calling one is refused.
    assert render("{{ data.clear }}{{ data.items.append }}[{{ data.name }}]", data) == "[Checkout]"
    for source in (
        "{{ data.clear() }}",
        "{{ data.pop('name') }}",
        "{{ data['items'].append(3) }}",
        "{{ data.update({'name': 'x'}) }}",
        "{{ data.setdefault('x', 1) }}",
        "{{ data.tags.add(1) }}",
    ):
        with pytest.raises(SecurityError):
            render(source, data)
    assert data == {"name": "Checkout", "items": [1, 2], "tags": {"a"}}


def test_internals_are_out_of_reach():
    assert render("{{ data.__class__ }}{{ data.items.__self__ }}{{ ''.__class__.__mro__ }}", {"a": 1}) == ""
    with pytest.raises(Exception):  # noqa: B017 - undefined, whatever the sandbox calls it
        render("{{ lipsum(10**6) }}")


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
        "{{ range(100000)|slice(10**7)|list|length }}",
        "{% for i in data.many %}{% for j in data.many %}{% for k in data.many %}{% endfor %}{% endfor %}{% endfor %}",
    ],
    ids=["nested-loops", "exponential-macro", "lazy-filter", "loops-over-data"],
)
def test_a_runaway_loop_stops_at_the_deadline(source):
    started = time.monotonic()
    with pytest.raises(BudgetExceeded, match="longer than 0.5 s"):
        render(source, {"many": list(range(3000))})
    assert time.monotonic() - started < 2


HUGE = [
    ("{{ 'x' * 10**9 }}", "repetition"),
    ("{{ 'x' * 1000000000 }}", "repetition"),
    ("{{ [1] * 10**9 }}", "repetition"),
    ("{{ 2 ** 10000000 }}", "power"),
    ("{{ (10 ** 1000) ** 1000 }}", "power"),
    ("{% set n = namespace(v=9) %}{% for i in range(40) %}{% set n.v = n.v * n.v %}{% endfor %}", "product"),
    ("{{ 'x'|center(10**9) }}", "center"),
    ("{{ ('x\n' * 1000)|indent(10**6) }}", "indent"),
    ("{% set a = 'x' * 5000 %}{{ a|replace('x', a) }}", "replace"),
    ("{{ range(5000)|join('x' * 5000) }}", "join"),
    ("{{ '%1000000000s'|format('x') }}", "%-format"),
    ("{{ '%1000000000s' % 'x' }}", "%-format"),
    ("{{ '%(a)1000000000s' % {'a': 'x'} }}", "%-format"),
    ("{{ '%(a)1000000000s'|format(a='x') }}", "%-format"),
    ("{{ [1]|batch(10**9, 'x')|list }}", "batch"),
    ("{{ ([[1] * 5000] * 5000)|sum(start=[]) }}", "sum"),
    ("{{ data|tojson(10**9) }}", "tojson"),
    ("{{ ('x' * 5000)|wordwrap(1, wrapstring='y' * 5000) }}", "wordwrap"),
    ("{% set n = namespace(v='xx') %}{% for i in range(60) %}{% set n.v = n.v ~ n.v %}{% endfor %}", "a value"),
    ("{% set n = namespace(v='xx') %}{% for i in range(60) %}{% set n.v = n.v + n.v %}{% endfor %}", "a value"),
    ("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", "output longer"),
    # Captured text counts as it is written, before it is ever joined or output.
    (
        "{% set x %}{% for i in range(100000) %}" + "x" * 1000 + "{% endfor %}{% endset %}{{ x|length }}",
        "output longer",
    ),
    ("{% set x %}{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}{% endset %}", "output longer"),
    ("{% macro m() %}{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}{% endmacro %}{{ m() }}", "output longer"),
    ("{% filter upper %}{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}{% endfilter %}", "output longer"),
    (
        "{% set l = range(5000)|list %}{% set x %}{% for i in range(10) %}{{ l }}{% endfor %}{% endset %}",
        "output longer",
    ),
]


@pytest.mark.parametrize(("source", "reason"), HUGE)
def test_a_huge_value_or_output_is_refused_before_it_is_built(source, reason):
    started = time.monotonic()
    with pytest.raises(BudgetExceeded, match=re.escape(reason)):
        render(source)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    "source", ["{{ 'x'.ljust(10**9) }}", "{{ '{:>1000000000}'.format('x') }}", "{{ ''.join(['a']) }}"]
)
def test_str_methods_that_pad_or_repeat_are_not_callable(source):
    with pytest.raises(SecurityError):
        render(source)


def test_counting_what_is_written_keeps_the_output_the_same():
    source = "<p>{{ '<b>' }}</p>{% for i in [1, 2] %}<i>{{ i }}</i>{% endfor %}{% set x %}<s>{{ 3 }}{% endset %}{{ x }}"
    assert render(source, html=True) == "<p>&lt;b&gt;</p><i>1</i><i>2</i><s>3"
    assert render(source) == "<p><b></p><i>1</i><i>2</i><s>3"


def test_html_is_escaped_and_links_go_through_safe_link():
    data = {"name": '<script>alert(1)</script>"', "url": "javascript:alert(1)", "ok": "https://example.com/?a=1&b=2"}
    out = render(
        '<a href="{{ data.url|safe_link }}" title="{{ data.name }}">{{ data.ok|safe_link }}</a>', data, html=True
    )
    assert out == '<a href="" title="&lt;script&gt;alert(1)&lt;/script&gt;&#34;">https://example.com/?a=1&amp;b=2</a>'


@pytest.mark.django_db
def test_a_runaway_stored_template_falls_back_and_says_why(event_types, settings):
    settings.TEMPLATE_RENDER_MAX_SECONDS = 0.3
    template = template_create(
        event_type=event_types["scenario.created"],
        channel=Channel.EMAIL,
        locale="en",
        subject="ok",
        body="{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    )
    started = time.monotonic()
    rendered = template_render(
        event_type="scenario.created", channel=Channel.EMAIL, locale="en", context={"data": {"name": "N"}}
    )
    assert time.monotonic() - started < 2
    assert rendered.template_version_id is None  # the file default
    assert f"template {template.pk} v1 failed: BudgetExceeded: rendering took longer than 0.3 s" in (
        rendered.fallback_reason
    )


@pytest.mark.django_db
def test_django_syntax_of_older_versions_is_migrated_to_jinja(event_types):
    source = (
        '{% comment %}note{% endcomment %}Hi {% firstof recipient.first_name recipient.username "there" %}: '
        '{{ data.title|default:"untitled" }} {% for k, v in data.items %}{{ forloop.counter }}.{{ k }}={{ v }} '
        "{% empty %}nothing{% endfor %}{{ data.long|truncatechars:5 }}"
    )
    converted = django_to_jinja(source)
    engines.sources_validate(body=converted)
    context = {"data": {"title": "", "long": "abcdefghij"}, "recipient": {"first_name": "", "username": "ann"}}
    with budget_active():
        out = render_budgeted(engines.stored_text.from_string(converted), context)
    assert out.startswith("Hi ann: untitled 1.title= 2.long=abcdefghij ")
    # truncate keeps the whole word within a leeway of 5; Django's truncatechars cuts.
    assert out.endswith("abcdefghij")
    # The migration's function leaves Jinja-compatible sources alone.
    assert django_to_jinja("{{ data.name }}{% if x %}y{% endif %}") == "{{ data.name }}{% if x %}y{% endif %}"


@pytest.mark.django_db
def test_the_migration_rewrites_stored_django_syntax_in_place(event_types):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("apps.templating.migrations.0002_stored_templates_to_jinja2")
    template = template_create(
        event_type=event_types["scenario.created"], channel=Channel.EMAIL, locale="en", subject="s", body="ok"
    )
    # As a version written for the Django engine was stored (before validation in Jinja2).
    old = TemplateVersion.objects.create(
        template=template,
        number=2,
        subject='{{ data.name|default:"you" }}',
        body="{% for k in data.keys %}{{ k }}{% endfor %}",
    )
    template.current_version = old
    template.save(update_fields=["current_version"])
    migration.forwards(apps, None)
    old.refresh_from_db()
    assert (old.subject, old.body) == (
        '{{ data.name|default("you", true) }}',
        "{% for k in data.keys() %}{{ k }}{% endfor %}",
    )
    rendered = template_render(
        event_type="scenario.created", channel=Channel.EMAIL, locale="en", context={"data": {"name": "", "a": 1}}
    )
    assert (rendered.subject, rendered.text, rendered.fallback_reason) == ("you", "namea", None)
    assert TemplateVersion.objects.filter(template=template).count() == 2  # rewritten in place, no new version
