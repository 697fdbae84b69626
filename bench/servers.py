"""Starting the web servers a benchmark measures: the process, and the wait until it answers."""

import os
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def server_start(
    command: list[str], *, answer_url: str, name: str, timeout: float = 30, env: dict | None = None
) -> subprocess.Popen:
    """Run `command` from the project root with this environment (`env` on top) and return
    it once `answer_url` answers; kill it and raise if it does not within `timeout` seconds."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(answer_url, timeout=2)  # noqa: S310
            return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"{name} did not answer")
