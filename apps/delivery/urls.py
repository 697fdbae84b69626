from django.urls import path

from . import tracking_views, views

urlpatterns = [
    path("api/v1/webhooks/twilio/status/", views.twilio_status_callback, name="webhook-twilio-status"),
    path("api/v1/webhooks/sendgrid/events/", views.sendgrid_event_callback, name="webhook-sendgrid-events"),
    path("email/open/<str:token>.gif", tracking_views.email_open, name="email-tracking-open"),
    path("email/click/<str:token>/", tracking_views.email_click, name="email-tracking-click"),
]
