from django.contrib.auth import views as auth_views
from django.urls import path

from . import preferences_views, views

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="inbox/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("inbox/", views.inbox_page, name="inbox-page"),
    path("inbox/preferences/", preferences_views.preferences_page, name="inbox-preferences"),
    path("inbox/sw.js", preferences_views.service_worker, name="inbox-service-worker"),
    path("inbox/read-all/", views.inbox_read_all, name="inbox-page-read-all"),
    # Before the generic item action: snoozing takes a choice of time.
    path("inbox/<int:notification_id>/snooze/", views.inbox_item_snooze, name="inbox-page-item-snooze"),
    path(
        "inbox/<int:notification_id>/<slug:action>/",
        views.inbox_item_action,
        name="inbox-page-item-action",
    ),
]
