import hashlib
import secrets
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .models import ApiKey, ApiKeyScope

KEY_PREFIX = "nsk"
# last_used_at is written at most this often per key: one UPDATE a minute, not per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(*, name: str, scopes: list[str] | None = None) -> tuple[ApiKey, str]:
    """Create a key and return it with its plain text, which is never stored."""
    scopes = list(scopes) if scopes is not None else list(ApiKeyScope.values)
    unknown = set(scopes) - set(ApiKeyScope.values)
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(sorted(unknown))}")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(name=name, prefix=prefix, key_hash=_hash(secret), scopes=scopes)
    return api_key, f"{KEY_PREFIX}_{prefix}_{secret}"


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record use, at most once per LAST_USED_RESOLUTION: the condition is in the UPDATE
    so concurrent requests of several processes write once."""
    now = timezone.now()
    cutoff = now - LAST_USED_RESOLUTION
    if api_key.last_used_at is not None and api_key.last_used_at > cutoff:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff)
    ApiKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching raw_key, or None.

    Read from the database on every request (one indexed lookup), never cached, so a
    revocation takes effect on the very next request.
    """
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    api_key = ApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if api_key is None or not secrets.compare_digest(api_key.key_hash, _hash(parts[2])):
        return None
    api_key_touch(api_key=api_key)
    return api_key
