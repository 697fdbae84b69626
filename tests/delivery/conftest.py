import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .provider_callbacks import PUBLIC, TOKEN


@pytest.fixture
def provider_settings(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TWILIO_AUTH_TOKEN = TOKEN
    return settings


@pytest.fixture
def sendgrid_key(provider_settings):
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    provider_settings.SENDGRID_WEBHOOK_PUBLIC_KEY = base64.b64encode(der).decode()
    return private
