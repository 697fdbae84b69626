"""The person the inbox page tests look through the eyes of, signed in to Django's test client."""

import pytest


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client
