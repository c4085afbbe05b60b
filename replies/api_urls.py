"""The replies API under /api/v1/ (names start `api-replies-`). Each route is in tests/matrix/replies.py."""

from django.urls import path

from . import api

urlpatterns = [
    # Residents
    path("replies/mine/", api.MyThreadListApi.as_view(), name="api-replies-mine"),
    path("replies/mine/<int:pk>/", api.MyThreadDetailApi.as_view(), name="api-replies-mine-detail"),
    path("replies/messages/<int:dispatch_id>/reply/", api.ReplyCreateApi.as_view(), name="api-replies-reply"),
    path("replies/messages/<int:dispatch_id>/rating/", api.RatingSetApi.as_view(), name="api-replies-rate"),
    # Officers
    path("replies/threads/", api.ThreadListApi.as_view(), name="api-replies-threads"),
    path("replies/threads/<int:pk>/", api.ThreadDetailApi.as_view(), name="api-replies-thread"),
    path("replies/threads/<int:pk>/answer/", api.ThreadAnswerApi.as_view(), name="api-replies-answer"),
    path("replies/threads/<int:pk>/assign/", api.ThreadAssignApi.as_view(), name="api-replies-assign"),
    path("replies/threads/<int:pk>/close/", api.ThreadCloseApi.as_view(), name="api-replies-close"),
    path("replies/threads/<int:pk>/reopen/", api.ThreadReopenApi.as_view(), name="api-replies-reopen"),
]
