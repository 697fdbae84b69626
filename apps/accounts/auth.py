from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .selectors import user_for_token


class PersonTokenAuthentication(authentication.TokenAuthentication):
    """DRF's `Authorization: Token <key>`, with a cheaper lookup (see user_for_token).
    request.auth is the key."""

    def authenticate_credentials(self, key):
        user = user_for_token(key=key)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, key
