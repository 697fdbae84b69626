from django.urls import path

from . import devices_api, push_api, webhook_api

urlpatterns = [
    path("devices/", devices_api.DeviceListApi.as_view(), name="devices"),
    path("devices/<int:device_id>/", devices_api.DeviceDetailApi.as_view(), name="device-detail"),
    path("push/vapid-public-key/", push_api.VapidPublicKeyApi.as_view(), name="push-vapid-public-key"),
    path("push-subscriptions/", push_api.PushSubscriptionListApi.as_view(), name="push-subscriptions"),
    path(
        "push-subscriptions/<int:subscription_id>/",
        push_api.PushSubscriptionDetailApi.as_view(),
        name="push-subscription-detail",
    ),
    path("webhook-endpoints/", webhook_api.WebhookEndpointListApi.as_view(), name="webhook-endpoints"),
    path(
        "webhook-endpoints/<int:endpoint_id>/",
        webhook_api.WebhookEndpointDetailApi.as_view(),
        name="webhook-endpoint-detail",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/rotate/",
        webhook_api.WebhookEndpointRotateApi.as_view(),
        name="webhook-endpoint-rotate",
    ),
]
