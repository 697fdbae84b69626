"""channel key → channel instance. Channel modules register themselves on import."""

from django.conf import settings

_channels: dict = {}


def register(channel):
    _channels[channel.key] = channel
    return channel


def get_channel(key: str):
    try:
        return _channels[key]
    except KeyError:
        raise LookupError(f"No delivery channel registered for '{key}'") from None


def registered_keys() -> list[str]:
    return sorted(_channels)


def provider_names() -> dict[str, list[str]]:
    """provider name → the channels sent through it, from the channels' own providers()
    (the names of their circuit breakers), and every rate-limited provider."""
    names: dict[str, list[str]] = {}
    for key in registered_keys():
        channel = get_channel(key)
        for provider in channel.providers() if hasattr(channel, "providers") else []:
            names.setdefault(provider.name, []).append(key)
    for name in settings.PROVIDER_RATE_LIMITS:
        names.setdefault(name, [])
    return names
