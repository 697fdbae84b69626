from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from apps.events.models import EventType

from .defaults import subscriptions_defaults_for_user


@receiver(post_save, sender=get_user_model(), dispatch_uid="subscriptions.defaults_for_new_user")
def give_new_user_the_defaults(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        subscriptions_defaults_for_user(user=instance)


@receiver(pre_save, sender=EventType, dispatch_uid="subscriptions.remember_default_channels")
def remember_default_channels(sender, instance, raw=False, **kwargs):
    if instance.pk and not raw:
        instance._previous_default_channels = (
            EventType.objects.filter(pk=instance.pk).values_list("default_channels", flat=True).first()
        )


@receiver(post_save, sender=EventType, dispatch_uid="subscriptions.sync_default_channels")
def sync_default_channels(sender, instance, created, raw=False, **kwargs):
    """Whatever changed the defaults (admin, API, a service), every user follows."""
    if raw:
        return
    previous = [] if created else getattr(instance, "_previous_default_channels", None)
    if list(instance.default_channels or []) == list(previous or []):
        return
    from .tasks import subscriptions_defaults_sync_task

    event_type_id = instance.pk
    transaction.on_commit(lambda: subscriptions_defaults_sync_task.delay(event_type_id), robust=True)
