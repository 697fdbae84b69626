"""The mail catcher as `make run` starts it: the Procfile's command, in a process of its own."""

import os
import signal
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

from ..sinks import free_port
from ..worker import ROOT, wait_until


class CatcherProcess:
    def __init__(self, directory: Path, keep: int = 200):
        self.directory = directory
        self.keep = keep
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / ".pytest_cache" / "mailcatcher.log"

    @property
    def email_url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "CatcherProcess":
        # The Procfile line, with this test's port, directory and bound.
        command = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
        argv = command["mailcatcher"].split()
        assert argv[:2] == ["python", "manage.py"]
        env = {
            **os.environ,
            "DEBUG": "true",
            "MAIL_CATCHER_PORT": str(self.port),
            "MAIL_CATCHER_DIR": str(self.directory),
            "MAIL_CATCHER_KEEP": str(self.keep),
        }
        self.log_path.parent.mkdir(exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (owned by the process)
        self.process = subprocess.Popen(
            [sys.executable, *argv[1:]], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        wait_until(self._accepts, timeout=30, interval=0.2, message="the mail catcher to accept SMTP")
        return self

    def _accepts(self) -> bool:
        assert self.process.poll() is None, f"the mail catcher exited; see {self.log_path}"
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=2) as smtp:
                return smtp.noop()[0] == 250
        except OSError:
            return False

    def stop(self) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def send(self, subject: str, to: str = "bob@example.com", html: str | None = "<p>Hello</p>") -> None:
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = subject, "notifications@localhost", to
        message["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        message.set_content(f"{subject} (text)")
        if html is not None:
            message.add_alternative(html, subtype="html")
        with smtplib.SMTP("127.0.0.1", self.port, timeout=5) as smtp:
            smtp.send_message(message)
