from django.urls import path, re_path

from . import views
from .services import NAME_PATTERN

urlpatterns = [
    path("dev/mailbox/", views.mailbox_view, name="mailbox"),
    re_path(rf"^dev/mailbox/(?P<name>{NAME_PATTERN})/html/$", views.mailbox_message_html_view, name="mailbox-html"),
]
