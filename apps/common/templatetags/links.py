"""`{{ url|safe_link }}`: the link when it passes apps.common.links' rule, else "" (so
`{% if url|safe_link %}` shows no link at all). For the project's own templates."""

from django import template

from apps.common.links import link_or_empty

register = template.Library()


@register.filter
def safe_link(value):
    return link_or_empty(value)
