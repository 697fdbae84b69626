"""channel key → channel instance. Channel modules register themselves on import."""

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
