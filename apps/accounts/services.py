from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Profile

User = get_user_model()


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    password: str | None = None,
    phone: str = "",
    timezone: str = "UTC",
    locale: str = "en",
):
    user = User(username=username, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    Profile.objects.update_or_create(user=user, defaults={"phone": phone, "timezone": timezone, "locale": locale})
    return user


def profile_ensure(*, user) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


_USER_FIELDS = {"email", "first_name", "last_name"}
_PROFILE_FIELDS = {"phone", "timezone", "locale"}


@transaction.atomic
def user_update(*, user, data: dict):
    user_fields = [f for f in data if f in _USER_FIELDS]
    for field in user_fields:
        setattr(user, field, data[field])
    if user_fields:
        user.save(update_fields=user_fields)
    profile_fields = [f for f in data if f in _PROFILE_FIELDS]
    if profile_fields:
        profile = profile_ensure(user=user)
        for field in profile_fields:
            setattr(profile, field, data[field])
        profile.save(update_fields=profile_fields)
    return user
