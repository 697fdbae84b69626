from django.core.exceptions import ValidationError

from .net import HostNotFound, UnsafeURL, url_destination


def validate_outbound_url(value: str) -> None:
    """A URL the service will POST to: resolvable, public (unless allow-listed), https."""
    try:
        url_destination(value)
    except (UnsafeURL, HostNotFound) as exc:
        raise ValidationError(str(exc)) from exc
