"""The browser's side of Web Push, for tests: a subscription key pair that decrypts
RFC 8291 payloads, and an independent check of a VAPID (RFC 8292) Authorization header."""

import base64
import json
import os
import time

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.conf import settings


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """One browser's push subscription keys (what PushManager.subscribe() makes)."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.keys = {"p256dh": b64url(public), "auth": b64url(self.auth)}

    def subscribe(self, client, endpoint):
        response = client.post("/api/v1/push-subscriptions/", {"endpoint": endpoint, "keys": self.keys}, format="json")
        assert response.status_code == 201, response.json()
        return response.json()["id"]

    def decrypt(self, body: bytes) -> dict:
        return json.loads(
            http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        )


def verify_vapid(header: str, audience: str) -> dict:
    """RFC 8292: `vapid t=<JWT signed ES256>, k=<the server's public key>`; the key must be
    the one the browser subscribed with (VAPID_PUBLIC_KEY)."""
    scheme, _, params = header.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == settings.VAPID_PUBLIC_KEY
    signing_input, _, signature = fields["t"].rpartition(".")
    raw = unb64url(signature)
    assert len(raw) == 64
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public_key.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    header_part, claims_part = signing_input.split(".")
    assert json.loads(unb64url(header_part)) == {"typ": "JWT", "alg": "ES256"}
    claims = json.loads(unb64url(claims_part))
    assert claims["aud"] == audience
    assert claims["sub"] == settings.VAPID_SUBJECT
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    return claims
