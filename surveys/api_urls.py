"""The surveys API under /api/v1/ (names start `api-surveys-`). Each route is in tests/matrix/surveys.py."""

from django.urls import path  # noqa: F401 - routes are added here

urlpatterns: list = []
