from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from apps.accounts.api import AuthTokenApi
from apps.common.api_docs import RedocDocsView, SwaggerDocsView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", AuthTokenApi.as_view(), name="auth-token"),
    path("api/v1/", include("apps.accounts.urls")),
    path("api/v1/", include("apps.subscriptions.urls")),
    path("api/v1/", include("apps.notifications.urls")),
    path("api/v1/", include("apps.scenarios.urls")),
    path("api/v1/", include("apps.integrations.urls")),
    path("", include("apps.delivery.urls")),
    path("", include("apps.subscriptions.page_urls")),
    path("api/v1/", include("apps.templating.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerDocsView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", RedocDocsView.as_view(url_name="schema"), name="redoc"),
    path("", include("apps.ops.urls")),
    path("", include("apps.mailcatcher.urls")),
    path("", include("apps.inbox.urls")),
    path("api/v1/", include("apps.inbox.api_urls")),
]

handler400 = "apps.common.errors.handler400"
handler403 = "apps.common.errors.handler403"
handler404 = "apps.common.errors.handler404"
handler500 = "apps.common.errors.handler500"
