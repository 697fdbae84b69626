from django.urls import path

from . import views

urlpatterns = [
    path("api/v1/webhooks/twilio/status/", views.twilio_status_callback, name="webhook-twilio-status"),
    path("api/v1/webhooks/sendgrid/events/", views.sendgrid_event_callback, name="webhook-sendgrid-events"),
]
