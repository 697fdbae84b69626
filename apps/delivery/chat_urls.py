"""Apprise URLs of operators' chat destinations: whether Apprise knows the URL, and the
form of it that is safe to show (credentials masked)."""

import apprise
from django.core.exceptions import ValidationError


def apprise_plugin(url: str):
    """The Apprise plugin for a URL, or None when no plugin takes it."""
    return apprise.Apprise.instantiate(url, suppress_exceptions=True) if url else None


def apprise_url_validate(url: str) -> None:
    if apprise_plugin(url) is None:
        raise ValidationError("Apprise does not recognise this URL (see its list of services).")


def apprise_url_masked(url: str) -> str:
    plugin = apprise_plugin(url)
    return plugin.url(privacy=True) if plugin is not None else "(not an Apprise URL)"
