from django.urls import path

from . import views

app_name = "members"

urlpatterns = [
    path("me/profile/", views.profile_edit, name="profile"),
    path("me/preferences/", views.preferences_edit, name="preferences"),
    path("me/privacy/", views.privacy, name="privacy"),
    path("me/privacy/organisations/<slug:slug>/", views.organisation_opt_in, name="organisation_opt_in"),
    path("me/privacy/my-data.json", views.export_download, name="export"),
    path("me/delete/", views.account_delete, name="delete"),
    path("me/api-token/", views.api_token, name="api_token"),
    path("p/<str:token>/", views.preferences_link, name="preferences_link"),
    path("organisation/members/", views.organisation_members, name="organisation_members"),
    path("organisation/officers/", views.officers_list, name="officers"),
    path("organisation/officers/new/", views.officer_create, name="officer_create"),
    path("organisation/officers/<int:pk>/active/", views.officer_set_active, name="officer_set_active"),
]
