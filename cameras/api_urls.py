"""The cameras API under /api/v1/ (names start `api-cameras-`). Each route is in tests/matrix/cameras.py."""

from django.urls import path  # noqa: F401 - routes are added here

urlpatterns: list = []
