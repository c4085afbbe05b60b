"""The alerts API under /api/v1/ (names start `api-alerts-`). Each route is in tests/matrix/alerts.py."""

from django.urls import path  # noqa: F401 - routes are added here

urlpatterns: list = []
