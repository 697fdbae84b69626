from .models import Subscription


def subscription_list(*, user):
    return Subscription.objects.filter(user=user).select_related("event_type").order_by("id")


def preference_get(*, user):
    """The person's preferences (an unsaved default one when they never set any)."""
    from .models import Preference

    return Preference.objects.filter(user=user).first() or Preference(user=user)


def subscription_channel_list(*, user):
    """The per event type × channel opt-ins (subscriptions for any subject)."""
    return subscription_list(user=user).filter(subject_type="")
