"""Model fields whose value is encrypted in the database (see crypto.py)."""

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from .crypto import InvalidToken, secret_decrypt, secret_encrypt


class EncryptedTextField(models.TextField):
    """Plain text in Python, a Fernet token in the column. The empty string is stored as
    is: it says only that there is no secret (e.g. no previous webhook secret)."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return secret_encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return secret_decrypt(value)
        except InvalidToken as exc:
            raise ImproperlyConfigured(
                f"{self.model.__name__}.{self.name}: a stored value does not decrypt with any of "
                "FIELD_ENCRYPTION_KEYS (a key was removed before `manage.py encryption_keys_rotate` ran?)"
            ) from exc
