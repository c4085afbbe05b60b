"""The surveys pages (namespace `surveys`). Every route has an entry in tests/matrix/surveys.py."""

from django.urls import path  # noqa: F401 - routes are added here

app_name = "surveys"

urlpatterns: list = []
