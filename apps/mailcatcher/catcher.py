"""The SMTP side: aiosmtpd accepts every message on a local port and hands it to
caught_message_save. Development only; it relays nothing."""

import logging
from pathlib import Path

from aiosmtpd.controller import Controller

from .services import caught_message_save

logger = logging.getLogger(__name__)
# aiosmtpd logs every SMTP command at INFO; one line per caught message is enough.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class CatchingHandler:
    def __init__(self, *, directory: Path, keep: int):
        self.directory = directory
        self.keep = keep

    async def handle_DATA(self, server, session, envelope):
        caught_message_save(
            directory=self.directory, content=envelope.content, envelope_to=envelope.rcpt_tos, keep=self.keep
        )
        return "250 Message caught"


def mail_catcher_controller(*, host: str, port: int, directory: Path, keep: int) -> Controller:
    """An aiosmtpd server in a thread of its own; start() returns once it accepts."""
    return Controller(CatchingHandler(directory=directory, keep=keep), hostname=host, port=port)
