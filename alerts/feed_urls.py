"""Public feeds of public alerts (namespace `feeds`): Atom and OASIS CAP 1.2. See tests/matrix/alerts_api.py."""

from django.urls import path  # noqa: F401 - routes are added here

app_name = "feeds"

urlpatterns: list = []
