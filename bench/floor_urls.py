"""The service's URLs plus the framework's floor: bare DRF views with the same
authentication and permission as the endpoints bench/api.py measures, answering the same
status with a tiny body. Only bench/floor_settings.py selects this URLconf, so the floor
never exists in the service's own URLs; both go through the same middleware stack."""

from django.urls import path
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.models import ApiKeyScope
from apps.common.permissions import IsPerson, service_scope
from notifications_project import urls as service_urls


class InboxFloorApi(APIView):
    """What GET /api/v1/inbox/ costs before it reads a row: auth, permission, throttle."""

    permission_classes = [IsPerson]

    def get(self, request):
        return Response({"results": []})


class SendFloorApi(APIView):
    """What POST /api/v1/notifications/ costs before it validates or writes anything."""

    permission_classes = [service_scope(ApiKeyScope.NOTIFICATIONS_WRITE)]

    def post(self, request):
        return Response({"id": 0}, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("bench/floor/inbox/", InboxFloorApi.as_view(), name="bench-floor-inbox"),
    path("bench/floor/send/", SendFloorApi.as_view(), name="bench-floor-send"),
    *service_urls.urlpatterns,
]

handler400 = service_urls.handler400
handler403 = service_urls.handler403
handler404 = service_urls.handler404
handler500 = service_urls.handler500
