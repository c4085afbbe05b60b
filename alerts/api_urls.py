"""The alerts API under /api/v1/ (names start `api-alerts-`). Each route is in tests/matrix/alerts_api.py."""

from django.urls import path

from . import api

urlpatterns = [
    # Officers: their organisation's alerts.
    path("alerts/", api.AlertListApi.as_view(), name="api-alerts-list"),
    path("alerts/audience-preview/", api.AudiencePreviewApi.as_view(), name="api-alerts-audience-preview"),
    path("alerts/<int:pk>/", api.AlertDetailApi.as_view(), name="api-alerts-detail"),
    path("alerts/<int:pk>/publish/", api.AlertPublishApi.as_view(), name="api-alerts-publish"),
    path("alerts/<int:pk>/schedule/", api.AlertScheduleApi.as_view(), name="api-alerts-schedule"),
    path("alerts/<int:pk>/unschedule/", api.AlertUnscheduleApi.as_view(), name="api-alerts-unschedule"),
    path("alerts/<int:pk>/updates/", api.AlertUpdateSendApi.as_view(), name="api-alerts-updates"),
    path("alerts/<int:pk>/withdraw/", api.AlertWithdrawApi.as_view(), name="api-alerts-withdraw"),
    path("alerts/<int:pk>/reach/", api.AlertReachApi.as_view(), name="api-alerts-reach"),
    path("alerts/<int:pk>/images/", api.AlertImageAddApi.as_view(), name="api-alerts-images"),
    path("alerts/<int:pk>/images/<int:image_pk>/", api.AlertImageRemoveApi.as_view(), name="api-alerts-image"),
    # Coordinators: their own group.
    path("groups/<slug:slug>/messages/", api.GroupMessagesApi.as_view(), name="api-alerts-group-messages"),
    # Every member: their own inbox.
    path("inbox/", api.InboxListApi.as_view(), name="api-alerts-inbox"),
    path("inbox/<int:pk>/", api.InboxMessageApi.as_view(), name="api-alerts-inbox-message"),
]
