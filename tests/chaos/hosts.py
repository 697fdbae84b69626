"""Separate hosts on one machine: each a network namespace (`ip netns`) joined to the
machine by a veth pair, with its own address and its own loopback. The servers stay on
the machine's loopback; socat forwards a port of the host-side address of each pair to
them, so a host reaches PostgreSQL and the broker the way a remote host would, over its
own link, and nothing else of the machine's."""

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field


def hosts_supported() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "ip netns needs root"
    missing = [tool for tool in ("ip", "socat") if shutil.which(tool) is None]
    return f"missing: {', '.join(missing)}" if missing else None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


@dataclass
class Host:
    """One namespace; `address` is its own, `gateway` the machine's end of its link."""

    name: str
    subnet: int  # 10.231.<subnet>.0/30 is the link
    forwarders: list[subprocess.Popen] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        return f"10.231.{self.subnet}.1"

    @property
    def address(self) -> str:
        return f"10.231.{self.subnet}.2"

    @property
    def prefix(self) -> list[str]:
        """Runs a command on this host (ip execs it: the process keeps its pid)."""
        return ["ip", "netns", "exec", self.name]

    def create(self) -> "Host":
        outside, inside = f"{self.name}o", f"{self.name}i"  # interface names: at most 15 characters
        _ip("netns", "add", self.name)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", self.name)
        _ip("addr", "add", f"{self.gateway}/30", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("netns", "exec", self.name, "ip", "addr", "add", f"{self.address}/30", "dev", inside)
        _ip("netns", "exec", self.name, "ip", "link", "set", inside, "up")
        _ip("netns", "exec", self.name, "ip", "link", "set", "lo", "up")
        return self

    def forward(self, port: int) -> int:
        """A port on this host's gateway that reaches `port` on the machine's loopback."""
        listen = _free_port(self.gateway)
        self.forwarders.append(
            subprocess.Popen(
                ["socat", f"TCP-LISTEN:{listen},bind={self.gateway},fork,reuseaddr", f"TCP:127.0.0.1:{port}"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        deadline = time.monotonic() + 10
        while not self.reaches(self.gateway, listen):
            if time.monotonic() > deadline:
                raise RuntimeError(f"forwarder {self.gateway}:{listen} → 127.0.0.1:{port} not up")
            time.sleep(0.05)
        return listen

    def reaches(self, address: str, port: int) -> bool:
        """Whether a TCP connection from inside this host to address:port succeeds."""
        probe = f"import socket; socket.create_connection(({address!r}, {port}), timeout=1).close()"
        return subprocess.run([*self.prefix, "python3", "-c", probe], capture_output=True).returncode == 0

    def delete(self) -> None:
        for forwarder in self.forwarders:
            forwarder.kill()
            forwarder.wait(10)
        # Deleting the namespace deletes the inside end, and the pair with it.
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True)
        subprocess.run(["ip", "link", "delete", f"{self.name}o"], capture_output=True)


def hosts_create(count: int) -> list[Host]:
    """`count` hosts with names and links of this process's own; on a failure half way,
    the ones made are removed."""
    tag = os.getpid() % 10_000
    made: list[Host] = []
    try:
        for i in range(count):
            made.append(Host(name=f"fo{tag}h{i}", subnet=(tag % 60) * 4 + i))
            made[-1].create()
    except Exception:
        for host in made:
            host.delete()
        raise
    return made
