"""The surveys API under /api/v1/ (names start `api-surveys-`). Each route is in tests/matrix/surveys.py."""

from django.urls import path

from . import api

urlpatterns = [
    path("surveys/", api.SurveyListApi.as_view(), name="api-surveys"),
    path("surveys/<int:pk>/", api.SurveyDetailApi.as_view(), name="api-surveys-detail"),
    path("surveys/<int:pk>/publish/", api.SurveyPublishApi.as_view(), name="api-surveys-publish"),
    path("surveys/<int:pk>/close/", api.SurveyCloseApi.as_view(), name="api-surveys-close"),
    path("surveys/<int:pk>/response/", api.SurveyResponseApi.as_view(), name="api-surveys-response"),
    path("surveys/<int:pk>/results/", api.SurveyResultsApi.as_view(), name="api-surveys-results"),
    path("polls/", api.PollCreateApi.as_view(), name="api-surveys-polls"),
    path("polls/<int:pk>/", api.PollDetailApi.as_view(), name="api-surveys-poll"),
    path("polls/<int:pk>/vote/", api.PollVoteApi.as_view(), name="api-surveys-poll-vote"),
]
