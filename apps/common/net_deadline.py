"""A deadline for one whole outbound request: connect, TLS, sending, the answer's headers
and its body together.

requests' timeouts are per socket operation: a receiver that drips one byte every few
seconds never trips a read timeout and holds the worker until the task's hard time
limit, and then the whole batch is sent again. So each request gets a watchdog: when
its deadline passes, the sockets of the connections it used are shut down, which ends
any read or write blocked on them at once; the request then fails with
DeadlineExceeded (a requests.Timeout, so a transient failure that is retried).

The connect and the TLS handshake are bounded by the connect timeout, which the client
caps at the time left (CPython bounds a whole handshake by the socket's timeout); the
watchdog covers everything after, where the connection's socket exists.
"""

import contextlib
import socket
import threading
import time

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class DeadlineExceeded(requests.Timeout):
    """The whole request took longer than its deadline."""


class RequestDeadline:
    """`with RequestDeadline(seconds):` bounds the requests made inside it on this thread,
    through connections of the pools below."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._connections: list[HTTPConnection] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return max(0.0, self._ends_at - time.monotonic())

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connections.append(connection)
            expired = self.expired
        if expired:
            _shut(connection)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)

    def __enter__(self) -> "RequestDeadline":
        self._ends_at = time.monotonic() + self.seconds
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        _current.deadline = None


def _shut(connection: HTTPConnection) -> None:
    sock = connection.sock
    if sock is None:
        return
    # The plain socket's shutdown, also for a TLS socket: it ends a recv blocked in
    # another thread without touching the TLS object that thread is using.
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _WatchedConnection:
    def request(self, *args, **kwargs):
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.watch(self)
        return super().request(*args, **kwargs)


class DeadlineHTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class DeadlineHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = DeadlineHTTPConnection


class DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = DeadlineHTTPSConnection


POOL_CLASSES = {"http": DeadlineHTTPConnectionPool, "https": DeadlineHTTPSConnectionPool}
