"""Person tokens (DRF authtoken): issued at sign-in, valid for PERSON_TOKEN_TTL_SECONDS,
revoked on request and whenever the person's password changes.

The password hook sits at the model's depth: Django's AbstractBaseUser.save() calls
every password validator's `password_changed()` after set_password(), whichever path
changed it (the users API, the admin's password form, a password change or reset form,
`manage.py changepassword`). A service every path would have to remember to call could
be forgotten by the next path; this one cannot.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

User = get_user_model()


def person_token_expired(*, created) -> bool:
    return created <= timezone.now() - timedelta(seconds=settings.PERSON_TOKEN_TTL_SECONDS)


@transaction.atomic
def person_token_issue(*, user) -> str:
    """The person's token: the current one while it lasts, else a new one."""
    # The lock makes two simultaneous sign-ins of one person agree on one token.
    User.objects.select_for_update().filter(pk=user.pk).first()
    token = Token.objects.filter(user=user).first()
    if token is not None and not person_token_expired(created=token.created):
        return token.key
    if token is not None:
        token.delete()
    return Token.objects.create(user=user).key


def person_token_revoke(*, key: str) -> None:
    Token.objects.filter(key=key).delete()


def person_tokens_revoke(*, user) -> None:
    Token.objects.filter(user=user).delete()


class RevokeTokensOnPasswordChange:
    """Listed in AUTH_PASSWORD_VALIDATORS for its `password_changed` hook only: it never
    refuses a password."""

    def validate(self, password, user=None):
        return None

    def password_changed(self, password, user=None):
        if user is not None and user.pk is not None:
            person_tokens_revoke(user=user)

    def get_help_text(self):
        return ""
