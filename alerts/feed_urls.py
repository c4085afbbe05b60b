"""Public feeds of public alerts (namespace `feeds`): Atom and OASIS CAP 1.2. See tests/matrix/alerts_api.py."""

from django.urls import path

from . import feeds

app_name = "feeds"

urlpatterns = [
    path("feeds/alerts.atom", feeds.alerts_atom, name="alerts"),
    path("feeds/areas/<str:code>/alerts.atom", feeds.alerts_atom, name="area-alerts"),
    path("feeds/cap.atom", feeds.cap_index, name="cap-index"),
    path("feeds/areas/<str:code>/cap.atom", feeds.cap_index, name="area-cap-index"),
    path("feeds/cap/alerts/<int:pk>.xml", feeds.cap_alert, name="cap-alert"),
    path("feeds/cap/alerts/<int:pk>/updates/<int:update_pk>.xml", feeds.cap_update, name="cap-update"),
    path("feeds/cap/alerts/<int:pk>/withdrawn.xml", feeds.cap_withdrawn, name="cap-withdrawn"),
]
