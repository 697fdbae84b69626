from django.urls import path

from . import api

urlpatterns = [
    path("status-webhooks/", api.StatusWebhookListApi.as_view(), name="status-webhooks"),
    path("status-webhooks/<int:endpoint_id>/", api.StatusWebhookDetailApi.as_view(), name="status-webhook-detail"),
]
