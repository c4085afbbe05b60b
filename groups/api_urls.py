from django.urls import path

from . import api

urlpatterns = [
    path("groups/", api.GroupListApi.as_view(), name="api-groups"),
    path("groups/<slug:slug>/", api.GroupDetailApi.as_view(), name="api-group"),
    path("groups/<slug:slug>/join/", api.GroupJoinApi.as_view(), name="api-group-join"),
    path("groups/<slug:slug>/leave/", api.GroupLeaveApi.as_view(), name="api-group-leave"),
    path("groups/<slug:slug>/members/", api.GroupRosterApi.as_view(), name="api-group-members"),
    path(
        "groups/<slug:slug>/requests/<int:pk>/approve/",
        api.MembershipApproveApi.as_view(),
        name="api-group-request-approve",
    ),
    path(
        "groups/<slug:slug>/requests/<int:pk>/decline/",
        api.MembershipDeclineApi.as_view(),
        name="api-group-request-decline",
    ),
    path("memberships/", api.MyMembershipsApi.as_view(), name="api-memberships"),
]
