from django.urls import path

from . import api, publish_api, send_api

urlpatterns = [
    path("inbox/", api.InboxListApi.as_view(), name="inbox"),
    path("inbox/unread-count/", api.UnreadCountApi.as_view(), name="inbox-unread-count"),
    path("inbox/read-all/", api.InboxReadAllApi.as_view(), name="inbox-read-all"),
    path("inbox/<int:notification_id>/read/", api.InboxReadApi.as_view(), name="inbox-read"),
    path("inbox/<int:notification_id>/unread/", api.InboxUnreadApi.as_view(), name="inbox-unread"),
    path("inbox/<int:notification_id>/archive/", api.InboxArchiveApi.as_view(), name="inbox-archive"),
    path("inbox/<int:notification_id>/unarchive/", api.InboxUnarchiveApi.as_view(), name="inbox-unarchive"),
    path("inbox/<int:notification_id>/snooze/", api.InboxSnoozeApi.as_view(), name="inbox-snooze"),
]

urlpatterns += [
    path("events/", publish_api.EventPublishApi.as_view(), name="events"),
    path("notifications/", send_api.NotificationSendApi.as_view(), name="notifications"),
    path("notifications/bulk/", send_api.NotificationBulkSendApi.as_view(), name="notifications-bulk"),
    path("notifications/<int:send_id>/", send_api.NotificationDetailApi.as_view(), name="notification-detail"),
    path("notifications/<int:send_id>/cancel/", send_api.NotificationCancelApi.as_view(), name="notification-cancel"),
]
