from django.urls import path

from .api import UserCreateApi, UserDetailApi

urlpatterns = [
    path("users/", UserCreateApi.as_view(), name="users"),
    path("users/<int:user_id>/", UserDetailApi.as_view(), name="user-detail"),
]
