from .models import Subscription


def subscription_list(*, user):
    return Subscription.objects.filter(user=user).select_related("event_type").order_by("id")
