from django.conf import settings
from django.db import models


class Profile(models.Model):
    """What the service needs to reach a person, beside the auth user's email."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +14155550100")
    timezone = models.CharField(max_length=64, default="UTC")
    locale = models.CharField(max_length=16, default="en")

    def __str__(self):
        return f"profile of {self.user}"
