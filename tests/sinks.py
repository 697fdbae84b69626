"""Local stand-ins for the outside world, on 127.0.0.1: an SMTP server (aiosmtpd) and
one HTTP server speaking the parts of SendGrid's and Twilio's APIs the service uses.

Each records what it received. Answers can be planned per recipient, so tests sharing
a server do not disturb each other: `plan("x@example.com", [500, 500, 202])`.
"""

import asyncio
import json
import secrets
import socket
import threading
from collections import defaultdict
from email import message_from_bytes
from email import policy as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _SmtpHandler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.sink.lock:
            self.sink.sessions += 1
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # Addresses name their fate: refuse-… is refused for good, busy-… for now.
        local = address.split("@", 1)[0]
        if local.startswith("refuse-"):
            return "550 5.1.1 No such user here"
        if local.startswith("busy-"):
            return "451 4.3.0 Mailbox busy, try again later"
        # once-… is busy the first time only.
        if local.startswith("once-") and address not in self.sink.refused_once:
            with self.sink.lock:
                self.sink.refused_once.add(address)
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # stall-… hangs the first time, long enough for a test to kill the sender.
        stalled = [rcpt for rcpt in envelope.rcpt_tos if rcpt.startswith("stall-") and rcpt not in self.sink.stalled]
        if stalled:
            with self.sink.lock:
                self.sink.stalled.update(stalled)
            await asyncio.sleep(60)
            return "451 4.4.2 Timed out"
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)  # a server that takes its time per message
        with self.sink.lock:
            for rcpt in envelope.rcpt_tos:
                self.sink.messages.append((rcpt, envelope.content))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, delay: float = 0.0, port: int | None = None):
        self.lock = threading.Lock()
        self.messages: list[tuple[str, bytes]] = []
        self.sessions = 0
        self.stalled: set[str] = set()
        self.refused_once: set[str] = set()
        # Seconds each message takes to be accepted.
        self.delay = delay
        # A port given: where senders were already pointed while nothing listened (an outage).
        self.port = port or free_port()
        self.controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def arrivals(self) -> list[str]:
        """The recipients of the messages received, in the order they arrived."""
        with self.lock:
            return [rcpt for rcpt, _ in self.messages]

    def received(self, address: str):
        """Parsed messages received for an address."""
        with self.lock:
            raw = [content for rcpt, content in self.messages if rcpt == address]
        return [message_from_bytes(content, policy=email_policy.default) for content in raw]


class ProviderSink:
    """POST /v3/mail/send (SendGrid) → 202 with X-Message-Id;
    POST /2010-04-01/Accounts/{sid}/Messages.json (Twilio) → 201 with sid and status."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.plans: dict[str, list] = defaultdict(list)
        self.always: dict[str, int] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ProviderSink":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def plan(self, recipient: str, statuses: list[int]) -> None:
        """The next answers for requests to this recipient, in order; then success."""
        with self.lock:
            self.plans[recipient].extend(statuses)

    def always_fail(self, recipient: str, status: int | None) -> None:
        with self.lock:
            if status is None:
                self.always.pop(recipient, None)
            else:
                self.always[recipient] = status

    def requests_for(self, recipient: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if recipient in r["recipients"]]

    def _status_for(self, recipients: list[str]) -> int | None:
        with self.lock:
            for recipient in recipients:
                if recipient in self.always:
                    return self.always[recipient]
                if self.plans.get(recipient):
                    return self.plans[recipient].pop(0)
        return None

    def _handler_class(self):
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict | None, headers: dict | None = None):
                payload = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if payload:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/v3/mail/send":
                    self._sendgrid(raw)
                elif self.path.startswith("/2010-04-01/Accounts/") and self.path.endswith("/Messages.json"):
                    self._twilio(raw)
                else:
                    self._answer(404, {"errors": [{"message": "not found"}]})

            def _record(self, provider, recipients, body) -> dict:
                record = {
                    "provider": provider,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "recipients": recipients,
                    "body": body,
                }
                with sink.lock:
                    sink.requests.append(record)
                return record

            def _sendgrid(self, raw):
                body = json.loads(raw)
                recipients = [to["email"] for p in body.get("personalizations", []) for to in p["to"]]
                record = self._record("sendgrid", recipients, body)
                status = sink._status_for(recipients)
                record["status"] = status or 202
                if status is None or status == 202:
                    record["message_id"] = secrets.token_urlsafe(16)
                    self._answer(202, None, {"X-Message-Id": record["message_id"]})
                elif status == 429:
                    self._answer(429, {"errors": [{"message": "Too many requests"}]}, {"Retry-After": "1"})
                else:
                    self._answer(status, {"errors": [{"message": f"planned {status}", "field": None}]})

            def _twilio(self, raw):
                form = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
                recipients = [form.get("To", "")]
                record = self._record("twilio", recipients, form)
                status = sink._status_for(recipients)
                record["status"] = status or 201
                account = self.path.split("/")[3]
                if status is None or status == 201:
                    sid = record["message_id"] = "SM" + secrets.token_hex(16)
                    self._answer(
                        201,
                        {
                            "sid": sid,
                            "account_sid": account,
                            "to": form.get("To"),
                            "from": form.get("From"),
                            "body": form.get("Body"),
                            "status": "queued",
                            "num_segments": "1",
                            "direction": "outbound-api",
                            "api_version": "2010-04-01",
                            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
                        },
                    )
                elif status == 400:
                    self._answer(
                        400,
                        {
                            "code": 21211,
                            "message": f"The 'To' number {form.get('To')} is not a valid phone number.",
                            "more_info": "https://www.twilio.com/docs/errors/21211",
                            "status": 400,
                        },
                    )
                else:
                    self._answer(status, {"code": 20500, "message": "Internal Server Error", "status": status})

        return Handler
