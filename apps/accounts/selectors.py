from django.contrib.auth import get_user_model

User = get_user_model()


def user_list():
    return User.objects.select_related("profile").order_by("id")
