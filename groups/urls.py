from django.urls import path

from . import views

app_name = "groups"

urlpatterns = [
    path("groups/", views.group_list, name="list"),
    path("groups/manage/", views.manage_list, name="manage_list"),
    path("groups/invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("groups/<slug:slug>/", views.group_detail, name="detail"),
    path("groups/<slug:slug>/join/", views.group_join, name="join"),
    path("groups/<slug:slug>/leave/", views.group_leave, name="leave"),
    path("groups/<slug:slug>/sharing/", views.group_sharing, name="sharing"),
    path("groups/<slug:slug>/manage/", views.manage, name="manage"),
    path("groups/<slug:slug>/manage/requests/<int:pk>/", views.manage_decide, name="manage_decide"),
    path("groups/<slug:slug>/manage/members/<int:pk>/remove/", views.manage_remove, name="manage_remove"),
    path("groups/<slug:slug>/manage/invite/", views.manage_invite, name="manage_invite"),
    path("groups/<slug:slug>/coordinators/", views.appoint_coordinator, name="appoint_coordinator"),
]
