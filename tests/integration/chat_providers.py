"""Local servers on 127.0.0.1 that speak the Slack Web API (`chat.postMessage`),
Firebase Cloud Messaging HTTP v1 with Google's OAuth token endpoint, and ntfy's
publish API, each answering from a plan per destination; and a worker of the channel
tests' own, pointed at them."""

import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt
from google.auth.exceptions import GoogleAuthError

from apps.common.priorities import priority_queues

from ..worker import Worker
from .providers import reset_resilience_state

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
CHANNEL_WORKER_QUEUES = ",".join(priority_queues(["fanout", "slack", "chat", "mobile_push"]))


@dataclass
class Call:
    path: str
    headers: dict
    body: dict


@dataclass
class JsonServer:
    """A threaded HTTP server whose `answer(path, headers, body)` gives (status, headers, json)."""

    calls: list = field(default_factory=list)
    plans: dict = field(default_factory=dict)

    def __post_init__(self):
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                else:
                    body = json.loads(raw or b"{}")
                status, extra_headers, payload = server.answer(self.path, headers, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def plan(self, key: str, answers: list) -> None:
        """The next answers for `key` (a Slack channel, an FCM token, an ntfy topic)."""
        with self._lock:
            self.plans[key] = list(answers)

    def next_answer(self, key: str, call: Call):
        with self._lock:
            self.calls.append(call)
            queue = self.plans.get(key) or []
            return queue.pop(0) if queue else "ok"

    def calls_for(self, key: str, field_name: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.body.get(field_name) == key]


class SlackApi(JsonServer):
    """`POST /api/chat.postMessage` as Slack answers it. Plan answers: "ok", an error
    code ("channel_not_found", ...), 429 (rate limited, Retry-After: 1), a 5xx, or
    ("slow", seconds): "ok" after that long."""

    TOKEN = "xoxb-test-bot-token"

    def __post_init__(self):
        super().__post_init__()
        self._ts = itertools.count(1)

    def answer(self, path, headers, body):
        call = Call(path, headers, body)
        if path != "/api/chat.postMessage":
            self.calls.append(call)
            return 404, {}, {"ok": False, "error": "unknown_method"}
        if headers.get("authorization") != f"Bearer {self.TOKEN}":
            self.calls.append(call)
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        answer = self.next_answer(body.get("channel", ""), call)
        if isinstance(answer, tuple) and answer[0] == "slow":
            time.sleep(answer[1])
            answer = "ok"
        if answer == 429:
            return 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
        if isinstance(answer, int):
            return answer, {}, {"ok": False, "error": "internal_error"}
        if answer != "ok":
            return 200, {}, {"ok": False, "error": answer}
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        return 200, {}, {"ok": True, "channel": body["channel"], "ts": ts, "message": {"text": body.get("text")}}


def service_account_key(token_uri: str, project_id: str = "local-project") -> tuple[dict, bytes]:
    """A service account key file's content, with a fresh RSA key, and its public key (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": "local-key-1",
        "private_key": private,
        "client_email": f"fcm-sender@{project_id}.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }
    return info, public


def _fcm_error(status: int, code: str, message: str, fcm_code: str | None = None) -> dict:
    error = {"code": status, "message": message, "status": code}
    if fcm_code:
        error["details"] = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}]
    return {"error": error}


class FcmApi(JsonServer):
    """Google's OAuth token endpoint (`POST /token`, a JWT bearer grant whose signature
    is checked with the service account's public key) and FCM v1
    (`POST /v1/projects/{project}/messages:send`, only with an issued token). Plan
    answers per device token: "ok", "unregistered", "invalid_token", or a 5xx."""

    def __post_init__(self):
        super().__post_init__()
        self.public_key: bytes = b""
        self.project_id = "local-project"
        self.issued: set[str] = set()
        self._ids = itertools.count(1)

    def key_file(self, path) -> str:
        info, self.public_key = service_account_key(f"{self.url}/token", self.project_id)
        path.write_text(json.dumps(info))
        return str(path)

    def answer(self, path, headers, body):
        call = Call(path, headers, body)
        if path == "/token":
            self.calls.append(call)
            try:
                # google-auth addresses the grant to Google's token endpoint whatever
                # token_uri the key names.
                claims = jwt.decode(body["assertion"], certs=self.public_key, audience=GOOGLE_TOKEN_AUDIENCE)
            except (KeyError, ValueError, GoogleAuthError) as exc:
                return 400, {}, {"error": "invalid_grant", "error_description": str(exc)}
            token = f"ya29.local-{next(self._ids)}"
            self.issued.add(token)
            return (
                200,
                {},
                {"access_token": token, "expires_in": 3600, "token_type": "Bearer", "scope": claims["scope"]},
            )
        if path != f"/v1/projects/{self.project_id}/messages:send":
            self.calls.append(call)
            return 404, {}, _fcm_error(404, "NOT_FOUND", "no such method")
        if headers.get("authorization", "").removeprefix("Bearer ") not in self.issued:
            self.calls.append(call)
            return 401, {}, _fcm_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        message = body.get("message", {})
        answer = self.next_answer(
            message.get("token", ""), Call(path, headers, {**body, "token": message.get("token")})
        )
        if answer == "unregistered":
            return 404, {}, _fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        if answer == "invalid_token":
            return (
                400,
                {},
                _fcm_error(
                    400,
                    "INVALID_ARGUMENT",
                    "The registration token is not a valid FCM registration token",
                    "INVALID_ARGUMENT",
                ),
            )
        if isinstance(answer, int):
            return answer, {}, _fcm_error(answer, "INTERNAL" if answer == 500 else "UNAVAILABLE", "try again", None)
        return 200, {}, {"name": f"projects/{self.project_id}/messages/{next(self._ids)}"}

    def sends_to(self, token: str) -> list[Call]:
        return self.calls_for(token, "token")


class NtfyServer(JsonServer):
    """ntfy's publish API as Apprise uses it: `POST /` with a JSON body naming the topic.
    Plan answers per topic: "ok", or an HTTP status (answered with ntfy's error JSON)."""

    def answer(self, path, headers, body):
        call = Call(path, headers, body)
        topic = body.get("topic", "")
        answer = self.next_answer(topic, call)
        if isinstance(answer, int):
            return answer, {}, {"code": answer * 100 + 1, "http": answer, "error": "refused by the test plan"}
        return 200, {}, {"id": f"m{len(self.calls)}", "time": int(time.time()), "event": "message", "topic": topic}

    def posts_to(self, topic: str) -> list[Call]:
        return self.calls_for(topic, "topic")


@contextlib.contextmanager
def channel_worker(name: str, env: dict):
    """A worker of its own on the fan-out and the new channels' queues (every other
    worker stopped, so none takes their tasks without this environment)."""
    reset_resilience_state()
    base = {
        "DELIVERY_RETRY_BACKOFF_SECONDS": "1",
        "DELIVERY_MAX_ATTEMPTS_BY_CHANNEL": "slack=3,chat=3,mobile_push=3",
        "CIRCUIT_FAILURE_THRESHOLD": "50",
    }
    worker = Worker(name, queues=CHANNEL_WORKER_QUEUES, concurrency=2, env={**base, **env}).start(exclusive=True)
    try:
        yield worker
    finally:
        worker.stop()
