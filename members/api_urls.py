from django.urls import path

from . import api

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("me/organisations/", api.MyOrganisationsApi.as_view(), name="api-me-organisations"),
    path("me/organisations/<slug:slug>/", api.MyOrganisationOptInApi.as_view(), name="api-me-organisation-opt-in"),
    path("me/consents/", api.MyConsentsApi.as_view(), name="api-me-consents"),
    path("me/export/", api.MyDataExportApi.as_view(), name="api-me-export"),
]
