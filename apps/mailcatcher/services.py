"""Keeping what the catcher receives: one .eml file per message, the newest N only."""

import os
import time
import uuid
from pathlib import Path

# <nanoseconds since the epoch, zero-padded>-<random>: names sort in arrival order.
NAME_PATTERN = r"\d{20}-[0-9a-f]{8}"


def caught_message_save(*, directory: Path, content: bytes, envelope_to: list[str], keep: int) -> Path:
    """Write one message (with the envelope's recipients, which Bcc hides from the
    headers) and drop the oldest beyond `keep`. Written to a temporary name and renamed,
    so the page never reads half a message."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
    partial = directory / f".{name}.part"
    partial.write_bytes(f"X-Envelope-To: {', '.join(envelope_to)}\r\n".encode() + content)
    path = directory / f"{name}.eml"
    os.replace(partial, path)
    caught_messages_prune(directory=directory, keep=keep)
    return path


def caught_messages_prune(*, directory: Path, keep: int) -> int:
    """Delete all but the newest `keep` messages; returns how many went."""
    paths = sorted(directory.glob("*.eml"))
    stale = paths[:-keep] if keep > 0 else paths
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)
