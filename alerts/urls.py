"""The alerts pages (namespace `alerts`). Every route has an entry in tests/matrix/alerts.py."""

from django.urls import path  # noqa: F401 - routes are added here

app_name = "alerts"

urlpatterns: list = []
