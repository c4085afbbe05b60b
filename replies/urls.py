"""The replies pages (namespace `replies`). Every route has an entry in tests/matrix/replies.py."""

from django.urls import path  # noqa: F401 - routes are added here

app_name = "replies"

urlpatterns: list = []
