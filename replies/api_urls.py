"""The replies API under /api/v1/ (names start `api-replies-`). Each route is in tests/matrix/replies.py."""

from django.urls import path  # noqa: F401 - routes are added here

urlpatterns: list = []
