from django.contrib import admin

from .models import Disclosure


@admin.register(Disclosure)
class DisclosureAdmin(admin.ModelAdmin):
    """Who saw whose full identifier or material: for audit, never edited."""

    list_display = ["at", "channel", "user", "department", "application", "field"]
    list_filter = ["channel", "department"]
    search_fields = ["user__username", "application__number", "field"]
    readonly_fields = ["at", "channel", "user", "department", "application", "subtask", "field"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
