"""The cameras pages (namespace `cameras`). Every route has an entry in tests/matrix/cameras.py."""

from django.urls import path  # noqa: F401 - routes are added here

app_name = "cameras"

urlpatterns: list = []
