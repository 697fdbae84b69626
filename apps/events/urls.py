from django.urls import path

from .api import EventPublishApi, EventTypeListApi

urlpatterns = [
    path("event-types/", EventTypeListApi.as_view(), name="event-types"),
    path("events/", EventPublishApi.as_view(), name="events"),
]
