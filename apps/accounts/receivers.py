from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver

from .services import profile_ensure


@receiver(post_save, sender=get_user_model(), dispatch_uid="accounts.profile_for_new_user")
def create_profile_for_new_user(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        profile_ensure(user=instance)
