from django.urls import path

from . import views

# Outside /api/v1/: the page people reach from an email.
urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
