from django.urls import path

from .stream import InboxStreamApi

urlpatterns = [
    path("inbox/stream/", InboxStreamApi.as_view(), name="inbox-stream"),
]
