from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import ConsentRecord, ConsentText, Member, Organisation, Preferences


@admin.register(Member)
class MemberAdmin(UserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "organisation", "is_active", "erased_at"]
    list_filter = ["role", "organisation", "is_active"]
    search_fields = ["email", "first_name", "last_name", "postcode"]
    readonly_fields = ["date_joined", "last_login", "erased_at"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "phone"]}),
        ("Address", {"fields": ["address_line1", "address_line2", "town", "postcode"]}),
        ("Role", {"fields": ["role", "organisation", "is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["date_joined", "last_login", "erased_at"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "first_name", "last_name", "password1", "password2"]})
    ]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "slug", "is_active"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    list_display = ["purpose", "version", "published_at"]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    list_display = ["member", "consent_text", "organisation", "given", "source", "at"]
    list_filter = ["given", "source"]

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register(Preferences)
