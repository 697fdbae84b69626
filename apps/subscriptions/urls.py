from django.urls import path

from .api import SubscriptionDetailApi, SubscriptionListApi
from .preferences_api import PreferencesApi, UserPreferencesApi
from .users_api import UserSubscriptionListApi

urlpatterns = [
    path("subscriptions/", SubscriptionListApi.as_view(), name="subscriptions"),
    path("subscriptions/<int:subscription_id>/", SubscriptionDetailApi.as_view(), name="subscription-detail"),
    path("preferences/", PreferencesApi.as_view(), name="preferences"),
    path("users/<int:user_id>/subscriptions/", UserSubscriptionListApi.as_view(), name="user-subscriptions"),
    path("users/<int:user_id>/preferences/", UserPreferencesApi.as_view(), name="user-preferences"),
]
