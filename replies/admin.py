"""Replies in the Django admin: settings and thread bookkeeping only, read-only.

What residents and officers wrote is not shown here: it is private to the resident and
the organisation's officers, who read it in the reply inbox.
"""

from django.contrib import admin

from .models import ReplySettings, Thread


@admin.register(ReplySettings)
class ReplySettingsAdmin(admin.ModelAdmin):
    list_display = ["organisation", "duty_email", "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]
    raw_id_fields = ["organisation"]


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "organisation",
        "dispatch_id",
        "status",
        "urgent",
        "assignee",
        "awaiting_since",
        "last_message_at",
    ]
    list_filter = ["status", "urgent", "organisation"]
    list_select_related = ["organisation", "assignee"]
    readonly_fields = [f.name for f in Thread._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
