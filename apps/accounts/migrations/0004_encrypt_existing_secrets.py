"""Encrypt the secrets stored in plain text before 0003 (webhook signing secrets, push
subscription keys). Values that already decrypt are left alone, so a re-run is a no-op;
backwards, the values are decrypted again."""

from django.db import migrations

from apps.common.crypto import InvalidToken, secret_decrypt, secret_encrypt
from apps.common.encrypted_columns import column_values_transform

COLUMNS = {
    "accounts_webhookendpoint": ["secret", "previous_secret"],
    "accounts_pushsubscription": ["p256dh", "auth"],
}


def _encrypt_plaintext(value: str) -> str:
    try:
        secret_decrypt(value)
    except InvalidToken:
        return secret_encrypt(value)
    return value


def encrypt(apps, schema_editor):
    for table, columns in COLUMNS.items():
        column_values_transform(
            connection=schema_editor.connection, table=table, columns=columns, transform=_encrypt_plaintext
        )


def decrypt(apps, schema_editor):
    for table, columns in COLUMNS.items():
        column_values_transform(
            connection=schema_editor.connection, table=table, columns=columns, transform=secret_decrypt
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_encrypt_secrets_at_rest"),
    ]

    operations = [migrations.RunPython(encrypt, decrypt)]
