"""The alerts pages (namespace `alerts`). Every route has an entry in tests/matrix/alerts.py."""

from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    # Residents and the public.
    path("alerts/", views.public_list, name="public_list"),
    path("alerts/<int:pk>/", views.alert_page, name="view"),
    path("alerts/<int:pk>/images/<int:image_pk>/", views.alert_image, name="image"),
    # Officers.
    path("alerts/manage/", views.alert_list, name="list"),
    path("alerts/manage/new/", views.alert_create, name="create"),
    path("alerts/manage/audience/", views.audience_count, name="audience"),
    path("alerts/manage/<int:pk>/", views.alert_detail, name="detail"),
    path("alerts/manage/<int:pk>/edit/", views.alert_edit, name="edit"),
    path("alerts/manage/<int:pk>/preview/", views.alert_preview, name="preview"),
    path("alerts/manage/<int:pk>/images/", views.image_add, name="image_add"),
    path("alerts/manage/<int:pk>/images/<int:image_pk>/remove/", views.image_remove, name="image_remove"),
    path("alerts/manage/<int:pk>/publish/", views.alert_publish, name="publish"),
    path("alerts/manage/<int:pk>/schedule/", views.alert_schedule, name="schedule"),
    path("alerts/manage/<int:pk>/unschedule/", views.alert_unschedule, name="unschedule"),
    path("alerts/manage/<int:pk>/update/", views.alert_update, name="update"),
    path("alerts/manage/<int:pk>/withdraw/", views.alert_withdraw, name="withdraw"),
    path("alerts/manage/<int:pk>/delete/", views.alert_delete, name="delete"),
    # Coordinators.
    path("alerts/groups/", views.group_list, name="group_list"),
    path("alerts/groups/<slug:slug>/messages/", views.group_messages, name="group_messages"),
]
