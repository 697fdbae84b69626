from django.urls import path

from .stream import inbox_stream

urlpatterns = [
    path("inbox/stream/", inbox_stream, name="inbox-stream"),
]
