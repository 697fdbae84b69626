from django.urls import path

from .api import EventPublishApi, EventTypeDetailApi, EventTypeListApi

urlpatterns = [
    path("event-types/", EventTypeListApi.as_view(), name="event-types"),
    path("event-types/<str:key>/", EventTypeDetailApi.as_view(), name="event-type-detail"),
    path("events/", EventPublishApi.as_view(), name="events"),
]
