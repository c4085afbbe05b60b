"""Every URL of MCV. Each one has an entry in tests/test_authorization_matrix.py."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import views as core_views
from members import views as member_views

admin.site.site_header = "MCV administration"

api_v1 = [
    path("", include("members.api_urls")),
    path("", include("groups.api_urls")),
    path("", include("groups.area_api")),
    path("", include("alerts.api_urls")),
    path("", include("replies.api_urls")),
    path("", include("surveys.api_urls")),
    path("", include("cameras.api_urls")),
]

urlpatterns = [
    path("", member_views.home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("", include("members.urls")),
    path("", include("groups.urls")),
    path("", include("groups.area_urls")),
    path("", include("notifications.urls")),
    path("", include("alerts.urls")),
    path("", include("alerts.feed_urls")),
    path("", include("replies.urls")),
    path("", include("surveys.urls")),
    path("", include("cameras.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("dev/mail/", core_views.dev_mailbox, name="dev-mailbox"),
    path("dev/mail/<str:name>/<int:index>/", core_views.dev_mail_message, name="dev-mail-message"),
    path("admin/", admin.site.urls),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
