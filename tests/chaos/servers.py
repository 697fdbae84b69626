"""Private Redis and PostgreSQL servers the chaos tests may stop, kill and restart
without touching anything shared."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, timeout: float, up: bool = True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} not {'up' if up else 'down'} after {timeout}s")


class PrivateRedis:
    """redis-server on a free port that keeps nothing on disk: started again, it is empty."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> "PrivateRedis":
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 (owned by the process)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--daemonize", "no", "--dir", str(self.workdir)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_port(self.port, 10)
        return self

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(10)
        _wait_port(self.port, 10, up=False)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb in a temp dir, trust auth, no fsync).
    `settings` (name: value) are passed as -c options at every (re)start, so a test may
    change one (max_connections) and restart."""

    def __init__(self, workdir: Path, settings: dict[str, str] | None = None):
        self.settings = dict(settings or {})
        self.port = free_port()
        self.datadir = workdir / "pgdata"
        self.socketdir = workdir
        self.logfile = workdir / "postgres.log"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_postgres, *args], capture_output=True, text=True, check=check, cwd=self.socketdir
        )

    def init(self) -> "PrivatePostgres":
        if self.as_postgres:
            shutil.chown(self.socketdir, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.socketdir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off -c shared_buffers=128MB"
        ) + "".join(f" -c {name}={value}" for name, value in self.settings.items())
        pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile), "-w"]
        self._run(*pg_ctl, "-o", options, action, *extra)

    def start(self) -> "PrivatePostgres":
        self._pg_ctl("start")
        return self

    def restart(self) -> None:
        """A fast restart: every open connection is cut."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop", check=False)


def private_workdir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path
