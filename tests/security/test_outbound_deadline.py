# ruff: noqa: F811 (fan_out: the channels' fixture, imported as a fixture and used as one)
"""A receiver that drips its answer one byte every half second never trips a per-read
timeout. Against real HTTP servers on 127.0.0.1: each webhook and push request is cut at
OUTBOUND_REQUEST_DEADLINE_SECONDS, the delivery is left for a retry, the rest of the
batch is sent, and a real worker is free for the next task."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from apps.accounts.models import PushSubscription
from apps.accounts.services import webhook_endpoint_create
from apps.common.channels import Channel
from apps.common.priorities import NORMAL
from apps.delivery.dispatch import deliveries_dispatch
from apps.delivery.models import Delivery, DeliveryStatus
from apps.delivery.tasks import deliveries_enqueue

from ..channels.conftest import fan_out  # noqa: F401
from ..http_receiver import Answer, Receiver
from ..web_push_browser import Browser
from ..worker import Worker, wait_until

DEADLINE = 2.0
DRIP_INTERVAL = 0.5
# Per-read timeouts longer than the drip interval: only the deadline can end the request.
DRIP_SETTINGS = {"OUTBOUND_REQUEST_DEADLINE_SECONDS": DEADLINE, "WEBHOOK_TIMEOUTS": (1.0, 1.0)}


class DripReceiver:
    """Answers byte by byte, DRIP_INTERVAL apart: the status line and headers
    (mode "headers") or, after prompt headers, a body (mode "body"). Records when each
    request arrived and when its client hung up."""

    def __init__(self, mode: str):
        self.arrived: list[float] = []
        self.hung_up: list[float] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                receiver.arrived.append(time.monotonic())
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2000\r\n\r\n"
                try:
                    if mode == "headers":
                        self._drip(head)
                    else:
                        self.wfile.write(head)
                        self.wfile.flush()
                    self._drip(b"x" * 2000)
                except OSError:
                    receiver.hung_up.append(time.monotonic())

            def _drip(self, data: bytes):
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(DRIP_INTERVAL)
                    # A closed peer shows as readable with nothing to read.
                    self.connection.setblocking(False)
                    try:
                        if self.connection.recv(1, socket.MSG_PEEK) == b"":
                            raise ConnectionResetError("client hung up")
                    except BlockingIOError:
                        pass
                    finally:
                        self.connection.setblocking(True)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path="/hook"):
        return f"http://localhost:{self.server.server_address[1]}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def assert_cut_at_the_deadline(drip: DripReceiver):
    wait_until(lambda: drip.hung_up, timeout=5, message="the client to hang up")
    held = drip.hung_up[0] - drip.arrived[0]
    # Cut at the deadline (the receiver notices within one drip), not at the end of the drip.
    assert DEADLINE - 0.2 <= held <= DEADLINE + DRIP_INTERVAL + 0.5, held


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["headers", "body"])
@override_settings(**DRIP_SETTINGS, OUTBOUND_HTTP_CONCURRENCY=1)
def test_a_dripping_webhook_receiver_is_cut_at_the_deadline_and_the_batch_goes_on(mode, make_user, fan_out):
    ivy, jon = make_user("ivy"), make_user("jon")
    with DripReceiver(mode) as drip, Receiver(Answer(200, body=b"ok")) as prompt:
        webhook_endpoint_create(user=ivy, url=drip.url())
        webhook_endpoint_create(user=jon, url=prompt.url())
        deliveries = fan_out([ivy, jon], Channel.WEBHOOK)
        started = time.monotonic()
        steps = deliveries_dispatch(channel_key="webhook", delivery_ids=sorted(d.pk for d in deliveries.values())).steps
        took = time.monotonic() - started
        assert_cut_at_the_deadline(drip)

    # One target at a time: the whole batch took the deadline plus the prompt receiver.
    assert DEADLINE - 0.2 <= took <= DEADLINE + 1.5, took
    assert steps["retry"] == [deliveries[ivy.pk].pk]
    assert steps["sent"] == [deliveries[jon.pk].pk]
    cut = Delivery.objects.get(pk=deliveries[ivy.pk].pk)
    assert cut.status == DeliveryStatus.PENDING  # waiting for its retry
    assert "DeadlineExceeded" in cut.last_error
    assert len(prompt.requests) == 1


@pytest.mark.django_db
@override_settings(**DRIP_SETTINGS)
def test_a_dripping_push_service_is_cut_at_the_deadline(make_user, fan_out):
    kim = make_user("kim")
    with DripReceiver("headers") as drip:
        PushSubscription.objects.create(user=kim, endpoint=drip.url("/push"), **Browser().keys)
        delivery = fan_out([kim], Channel.PUSH)[kim.pk]
        started = time.monotonic()
        steps = deliveries_dispatch(channel_key="push", delivery_ids=[delivery.pk]).steps
        took = time.monotonic() - started
        assert_cut_at_the_deadline(drip)
    assert DEADLINE - 0.2 <= took <= DEADLINE + 1.0, took
    assert steps["retry"] == [delivery.pk]
    assert "DeadlineExceeded" in Delivery.objects.get(pk=delivery.pk).last_error
    assert PushSubscription.objects.filter(user=kim).exists()  # a slow service is not a gone subscription


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_is_free_again_at_the_deadline(make_user, fan_out):
    """One worker process with one pool slot: after the dripping receiver is cut, the next
    task (another person's webhook) is sent within seconds, not at the task's time limit."""
    env = {"OUTBOUND_REQUEST_DEADLINE_SECONDS": str(DEADLINE), "WEBHOOK_TIMEOUTS": "1,1"}
    worker = Worker("deadline", queues="webhook", concurrency=1, env=env).start(exclusive=True)
    try:
        ivy, jon = make_user("ivy"), make_user("jon")
        with DripReceiver("body") as drip, Receiver(Answer(200)) as prompt:
            webhook_endpoint_create(user=ivy, url=drip.url())
            webhook_endpoint_create(user=jon, url=prompt.url())
            stuck = fan_out([ivy], Channel.WEBHOOK)[ivy.pk]
            deliveries_enqueue(channel="webhook", delivery_ids=[stuck.pk], priority=NORMAL)
            wait_until(lambda: drip.arrived, timeout=30, message="the dripping receiver reached")
            started = time.monotonic()
            waiting = fan_out([jon], Channel.WEBHOOK, event_key="scenario.executed")[jon.pk]
            deliveries_enqueue(channel="webhook", delivery_ids=[waiting.pk], priority=NORMAL)

            wait_until(
                lambda: Delivery.objects.get(pk=waiting.pk).status == DeliveryStatus.SENT,
                timeout=DEADLINE + 15,
                message="the next webhook sent",
            )
            freed_after = time.monotonic() - started
            assert_cut_at_the_deadline(drip)
        assert freed_after <= DEADLINE + 5, freed_after
        assert "DeadlineExceeded" in Delivery.objects.get(pk=stuck.pk).last_error
    finally:
        worker.stop()
