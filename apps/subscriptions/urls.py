from django.urls import path

from .api import SubscriptionDetailApi, SubscriptionListApi
from .event_types_api import EventTypeDetailApi, EventTypeListApi
from .preferences_api import PreferencesApi, UserPreferencesApi
from .user_subscriptions_api import UserSubscriptionListApi
from .users_api import UserCreateApi, UserDetailApi

urlpatterns = [
    path("event-types/", EventTypeListApi.as_view(), name="event-types"),
    path("event-types/<str:key>/", EventTypeDetailApi.as_view(), name="event-type-detail"),
    path("users/", UserCreateApi.as_view(), name="users"),
    path("users/<int:user_id>/", UserDetailApi.as_view(), name="user-detail"),
    path("subscriptions/", SubscriptionListApi.as_view(), name="subscriptions"),
    path("subscriptions/<int:subscription_id>/", SubscriptionDetailApi.as_view(), name="subscription-detail"),
    path("preferences/", PreferencesApi.as_view(), name="preferences"),
    path("users/<int:user_id>/subscriptions/", UserSubscriptionListApi.as_view(), name="user-subscriptions"),
    path("users/<int:user_id>/preferences/", UserPreferencesApi.as_view(), name="user-preferences"),
]
