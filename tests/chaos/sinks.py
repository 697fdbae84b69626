"""Where a channel's messages land, counted per recipient (username), so a chaos test can
tell a lost message from a duplicated one whatever the channel."""

import re
import threading
from collections import Counter
from pathlib import Path

from .servers import free_port

# The log channel's JSON line, inside the worker's own JSON log record (quotes escaped there).
LOGGED_USER = re.compile(r'\\?"user\\?": \\?"([^"\\]+)\\?", \\?"user_id\\?": \d+\}')


class LogSink:
    """The `log` channel writes one JSON line per message into its worker's log."""

    channel = "log"

    def __init__(self):
        self.log_paths: list[Path] = []

    def worker_env(self) -> dict:
        return {}

    def watch(self, worker) -> None:
        self.log_paths.append(worker.log_path)

    def counts(self) -> Counter:
        counts: Counter = Counter()
        for path in self.log_paths:
            if path.exists():
                counts.update(LOGGED_USER.findall(path.read_text(errors="replace")))
        return counts

    def close(self) -> None:
        pass


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 counting messages per recipient."""

    channel = "email"

    def __init__(self):
        from aiosmtpd.controller import Controller

        self._counts: Counter = Counter()
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        with self._lock:
            self._counts.update(address.split("@", 1)[0] for address in envelope.rcpt_tos)
        return "250 OK"

    def worker_env(self) -> dict:
        return {"EMAIL_URL": f"smtp://127.0.0.1:{self.port}", "EMAIL_PROVIDER": "smtp"}

    def watch(self, worker) -> None:
        pass

    def counts(self) -> Counter:
        with self._lock:
            return Counter(self._counts)

    def close(self) -> None:
        self.controller.stop()


SINKS = {"log": LogSink, "email": SmtpSink}
