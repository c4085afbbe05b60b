"""The cameras pages (namespace `cameras`). Every route has an entry in tests/matrix/cameras.py."""

from django.urls import path

from . import views

app_name = "cameras"

urlpatterns = [
    # A resident's cameras, and what they are asked
    path("cameras/", views.camera_list, name="mine"),
    path("cameras/new/", views.camera_register, name="register"),
    path("cameras/<int:pk>/edit/", views.camera_edit, name="edit"),
    path("cameras/<int:pk>/remove/", views.camera_remove, name="remove"),
    path("cameras/confirm/", views.cameras_confirm, name="confirm"),
    path("cameras/asked/", views.ask_list, name="asks"),
    path("cameras/asked/<int:pk>/", views.ask_detail, name="ask"),
    # Officers
    path("cameras/search/", views.search, name="search"),
    path("cameras/search/<int:pk>/", views.search_detail, name="search_detail"),
    path("cameras/requests/", views.request_list, name="requests"),
    path("cameras/requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("cameras/requests/<int:pk>/custody/", views.custody_log, name="custody"),
    path("cameras/requests/<int:pk>/custody.csv", views.custody_export, name="custody_export"),
    path("cameras/evidence/<uuid:uuid>/", views.evidence_download, name="evidence_download"),
    # Force admins
    path("cameras/coverage/", views.coverage, name="coverage"),
]
