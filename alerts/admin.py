"""Alerts in the Django admin: to look at, never to write. Writing goes through the services
(sanitising, jurisdiction, the dispatch in the same transaction, the audit log)."""

from django.contrib import admin

from .models import Alert, AlertImage, AlertUpdate, GroupMessage


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnly):
    list_display = ["title", "organisation", "kind", "priority", "status", "is_public", "published_at"]
    list_filter = ["status", "kind", "priority", "is_public", "organisation"]
    search_fields = ["title"]
    date_hierarchy = "created_at"


@admin.register(AlertUpdate)
class AlertUpdateAdmin(ReadOnly):
    list_display = ["alert", "kind", "created_at"]
    list_filter = ["kind"]


@admin.register(AlertImage)
class AlertImageAdmin(ReadOnly):
    list_display = ["alert", "alt_text", "content_type", "size"]


@admin.register(GroupMessage)
class GroupMessageAdmin(ReadOnly):
    list_display = ["subject", "group", "created_at"]
    list_filter = ["group__organisation"]
