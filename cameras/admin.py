"""The admin shows the register read-only: cameras and evidence change only through their services."""

from django.contrib import admin

from .models import Camera, CameraSearch, CustodyEntry, Evidence, FootageAsk, FootageRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Camera)
class CameraAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "placement", "retention_days", "willing", "confirmed_at"]
    list_filter = ["kind", "willing"]


@admin.register(CameraSearch)
class CameraSearchAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organisation", "officer", "incident_reference", "radius_m", "result_count"]


@admin.register(FootageRequest)
class FootageRequestAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organisation", "incident_reference", "created_by"]


@admin.register(FootageAsk)
class FootageAskAdmin(ReadOnlyAdmin):
    list_display = ["id", "request", "camera_kind", "status", "preserve_by", "answered_at"]
    list_filter = ["status"]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ["uuid", "content_type", "size", "sha256", "uploaded_at", "from_erased_member"]
    exclude = ["file"]


@admin.register(CustodyEntry)
class CustodyEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "evidence", "action", "actor_name", "organisation"]
