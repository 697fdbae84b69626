"""Gunicorn's gthread worker, telling the application how long each request queued.

A gthread process hands each request to its thread pool; when all threads are busy the
request waits in the pool's queue, where nothing in Django can see it. This worker notes
when a request was queued and puts that moment in the WSGI environ
(apps/common/queued_at.py), and answers 503 itself, before Django, to a request that
has already waited longer than its budget (apps/common/load_shedding.py) instead of
serving it seconds late.

A request is queued from the moment its last bytes reached the kernel (TCP_INFO's
last_data_recv, on Linux), so the time it spent in the listen backlog, while the
process's main thread was slow to accept, counts too; elsewhere from when the worker
queued it. Gunicorn's own worker hands a new
connection to a thread at once, and the thread waits there (up to 5 s) for the client to
send: an idle or slow client holds a thread, and the time it took would count as queue
wait. Here a new connection waits in the poller, as a kept-alive one does, and goes to
the pool when it is readable.
"""

import errno
import json
import socket
import struct
import threading
import time
from functools import partial
from selectors import EVENT_READ

from gunicorn.workers.gthread import TConn, ThreadWorker

from apps.common.queued_at import QUEUED_AT_KEY

# struct tcp_info (linux/tcp.h): 8 bytes of u8 fields, then u32s; last_data_recv is the
# 12th u32, the milliseconds since the last data arrived. Its layout is kernel ABI.
_TCP_INFO_LAST_DATA_RECV_OFFSET = 8 + 11 * 4
_TCP_INFO_SIZE = _TCP_INFO_LAST_DATA_RECV_OFFSET + 4


def arrived_at(sock, queued_at: float) -> float:
    """When the request's bytes reached the kernel, on the time.monotonic() clock; at
    the latest, when the worker queued it."""
    tcp_info = getattr(socket, "TCP_INFO", None)
    if tcp_info is None:
        return queued_at
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, tcp_info, _TCP_INFO_SIZE)
    except OSError:  # a Unix socket (behind a proxy on the same host)
        return queued_at
    if len(info) < _TCP_INFO_SIZE:
        return queued_at
    (since_ms,) = struct.unpack_from("I", info, _TCP_INFO_LAST_DATA_RECV_OFFSET)
    return min(queued_at, time.monotonic() - since_ms / 1000)


class QueueTimedThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._handling = threading.local()

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client_sock.setblocking(False)
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        # Gunicorn's pending connections: closed by murder_pending() if nothing arrives
        # within the keep-alive time, queued by on_pending_socket_readable() otherwise.
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(client_sock, EVENT_READ, partial(self.on_pending_socket_readable, conn))

    def enqueue_req(self, conn):
        conn.queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn):
        # Runs on the pool thread that then calls the application (see load_wsgi).
        self._handling.queued_at = arrived_at(conn.sock, conn.queued_at)
        return super().handle(conn)

    def load_wsgi(self):
        super().load_wsgi()
        # Django is set up by now (the application is loaded).
        from apps.common.load_shedding import is_exempt, waited_too_long

        application = self.wsgi
        handling = self._handling

        def with_queued_at(environ, start_response):
            environ[QUEUED_AT_KEY] = handling.queued_at
            # Past its budget already: answered here, for a fraction of what even the
            # shortest way through Django's middleware costs.
            if waited_too_long(handling.queued_at) and not is_exempt(environ.get("PATH_INFO", "")):
                return overloaded_wsgi(environ, start_response)
            return application(environ, start_response)

        self.wsgi = with_queued_at


def overloaded_wsgi(environ, start_response):
    """The load shedder's 503 as a WSGI answer, with the request id echoed as the
    service's middleware would."""
    from apps.common.load_shedding import overloaded
    from apps.ops.correlation import HEADER, correlation_id_clean, correlation_id_new

    body, retry_after = overloaded("queue_wait")
    payload = json.dumps(body).encode()
    request_id = correlation_id_clean(environ.get("HTTP_X_REQUEST_ID")) or correlation_id_new()
    start_response(
        "503 Service Unavailable",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Retry-After", str(retry_after)),
            (HEADER, request_id),
        ],
    )
    return [payload]
