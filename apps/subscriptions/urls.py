from django.urls import path

from .api import SubscriptionDetailApi, SubscriptionListApi

urlpatterns = [
    path("subscriptions/", SubscriptionListApi.as_view(), name="subscriptions"),
    path("subscriptions/<int:subscription_id>/", SubscriptionDetailApi.as_view(), name="subscription-detail"),
]
