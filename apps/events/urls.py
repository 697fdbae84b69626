from django.urls import path

from .api import EventTypeDetailApi, EventTypeListApi

urlpatterns = [
    path("event-types/", EventTypeListApi.as_view(), name="event-types"),
    path("event-types/<str:key>/", EventTypeDetailApi.as_view(), name="event-type-detail"),
]
