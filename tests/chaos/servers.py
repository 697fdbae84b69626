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


RABBITMQ_BIN = Path(os.environ.get("RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))


class PrivateRabbitMQ:
    """A RabbitMQ node of its own: its own name, AMQP and distribution ports, data and
    configuration in the work directory, so it may be stopped and restarted while the
    machine's shared node runs on. Its data survives a restart (that is what a restart
    test proves); the work directory goes with the session. Run as the rabbitmq user
    when root (the Erlang cookie is that user's), like the shared node."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.dist_port = free_port()
        self.workdir = workdir / "rabbitmq"
        self.node = f"chaos{self.port}@localhost"
        self.vhost = "/"  # the one a test's broker is on (conftest's rabbitmq_broker)
        self.process: subprocess.Popen | None = None
        self.as_rabbitmq = ["runuser", "-u", "rabbitmq", "--"] if os.geteuid() == 0 else []

    def url(self, vhost: str = "/") -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost.replace('/', '%2F')}"

    def _env(self) -> dict:
        home = "/var/lib/rabbitmq" if self.as_rabbitmq else os.environ.get("HOME", str(self.workdir))
        files = self.workdir
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(files / "mnesia"),
            "RABBITMQ_LOG_BASE": str(files / "log"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(files / "plugins"),
            "RABBITMQ_PID_FILE": str(files / "rabbitmq.pid"),
            "RABBITMQ_CONFIG_FILE": str(files / "rabbitmq.conf"),
            # Not the machine's rabbitmq-env.conf: it names the shared node.
            "RABBITMQ_CONF_ENV_FILE": str(files / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(files / "enabled_plugins"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def _files(self) -> None:
        self.workdir.mkdir(exist_ok=True)
        (self.workdir / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n")
        (self.workdir / "rabbitmq-env.conf").write_text("")
        (self.workdir / "enabled_plugins").write_text("[].\n")
        if self.as_rabbitmq:
            for path in [self.workdir, *self.workdir.rglob("*")]:
                shutil.chown(path, "rabbitmq", "rabbitmq")

    def start(self, timeout: float = 90) -> "PrivateRabbitMQ":
        if not self.workdir.exists():
            self._files()
        log = open(self.workdir.parent / "rabbitmq.log", "ab")  # noqa: SIM115 (owned by the process)
        self.process = subprocess.Popen(
            [*self.as_rabbitmq, str(RABBITMQ_BIN / "rabbitmq-server")],
            cwd=self.workdir,
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_port(self.port, timeout)
        self.ctl("await_startup")  # the port opens before the vhosts and queues are back
        return self

    def ctl(self, *args: str) -> str:
        result = subprocess.run(
            [*self.as_rabbitmq, str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.node, *args],
            env=self._env(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return result.stdout

    def stop(self) -> None:
        """A clean stop (what a node restart for maintenance does)."""
        if self.process and self.process.poll() is None:
            try:
                self.ctl("stop")
                self.process.wait(60)
            except (subprocess.SubprocessError, OSError):
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        _wait_port(self.port, 30, up=False)

    def restart(self) -> None:
        self.stop()
        self.start()
