"""Encryption of secrets at rest (webhook signing secrets, push subscription keys).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`, already a dependency) under
MultiFernet: FIELD_ENCRYPTION_KEYS lists the keys, the first encrypts and every one
decrypts. Rotating is adding a new key in front, running `manage.py
encryption_keys_rotate` (re-encrypts every stored value under the first key), then
dropping the old key. Tokens are randomised, so an encrypted column cannot be looked up
by value; none of the encrypted fields is.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["InvalidToken", "secret_decrypt", "secret_encrypt", "token_rotate"]


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: secrets at rest cannot be encrypted.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds a key that is not a Fernet key: {exc}") from exc


def _fernet() -> MultiFernet:
    # Keyed by the keys themselves, so a changed setting (tests, rotation) takes effect.
    return _multi_fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def secret_encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def secret_decrypt(token: str) -> str:
    """Raises InvalidToken when no configured key made the token."""
    return _fernet().decrypt(token.encode()).decode()


def token_rotate(token: str) -> str:
    """The same secret, encrypted under the first key (raises InvalidToken as above)."""
    return _fernet().rotate(token.encode()).decode()
