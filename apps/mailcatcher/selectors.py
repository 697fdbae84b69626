"""Reading the caught messages back, newest first."""

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from .services import NAME_PATTERN


@dataclass(frozen=True)
class CaughtMessage:
    name: str
    subject: str
    sender: str
    to: str
    date: object  # datetime, or None when the Date header is missing or malformed
    text: str | None
    html: str | None


def _part(message: EmailMessage, subtype: str) -> str | None:
    body = message.get_body(preferencelist=(subtype,))
    if body is None:
        return None
    try:
        return body.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        return body.get_payload(decode=True).decode("utf-8", "replace")


def _date(value: str | None):
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def _read(path: Path) -> CaughtMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    return CaughtMessage(
        name=path.stem,
        subject=str(message.get("Subject", "")),
        sender=str(message.get("From", "")),
        to=str(message.get("To") or message.get("X-Envelope-To", "")),
        date=_date(message.get("Date")),
        text=_part(message, "plain"),
        html=_part(message, "html"),
    )


def caught_message_list(*, directory: Path, limit: int | None = None) -> list[CaughtMessage]:
    paths = sorted(directory.glob("*.eml"), reverse=True)[:limit] if directory.is_dir() else []
    messages = []
    for path in paths:
        try:
            messages.append(_read(path))
        except FileNotFoundError:  # pruned between the listing and the read
            continue
    return messages


def caught_message_get(*, directory: Path, name: str) -> CaughtMessage | None:
    """One message by its name; None for any name that is not one of ours (the name
    never becomes a path unless it has the catcher's own form)."""
    if not re.fullmatch(NAME_PATTERN, name):
        return None
    path = directory / f"{name}.eml"
    try:
        return _read(path)
    except FileNotFoundError:
        return None
