"""The cameras API under /api/v1/ (names start `api-cameras-`). Each route is in tests/matrix/cameras.py."""

from django.urls import path

from . import api

urlpatterns = [
    path("cameras/", api.CameraListApi.as_view(), name="api-cameras-list"),
    path("cameras/<int:pk>/", api.CameraDetailApi.as_view(), name="api-cameras-detail"),
    path("cameras/confirm/", api.CameraConfirmApi.as_view(), name="api-cameras-confirm"),
    path("cameras/asked/", api.AskListApi.as_view(), name="api-cameras-asks"),
    path("cameras/asked/<int:pk>/", api.AskDetailApi.as_view(), name="api-cameras-ask"),
    path("cameras/asked/<int:pk>/answer/", api.AskAnswerApi.as_view(), name="api-cameras-ask-answer"),
    path("cameras/searches/", api.SearchListApi.as_view(), name="api-cameras-searches"),
    path("cameras/searches/<int:pk>/", api.SearchDetailApi.as_view(), name="api-cameras-search"),
    path("cameras/requests/", api.RequestListApi.as_view(), name="api-cameras-requests"),
    path("cameras/requests/<int:pk>/", api.RequestDetailApi.as_view(), name="api-cameras-request"),
    path("cameras/requests/<int:pk>/custody/", api.CustodyApi.as_view(), name="api-cameras-custody"),
    path("cameras/evidence/<uuid:uuid>/", api.EvidenceDownloadApi.as_view(), name="api-cameras-evidence"),
    path("cameras/coverage/", api.CoverageApi.as_view(), name="api-cameras-coverage"),
]
