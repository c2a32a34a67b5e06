from django.contrib import admin

from .models import DisclosureLog, RejectionReason


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin):
    list_display = ["text", "department", "position"]
    list_filter = ["department"]


@admin.register(DisclosureLog)
class DisclosureLogAdmin(admin.ModelAdmin):
    """Who saw whose full identifier: for audit, never edited."""

    list_display = ["at", "user", "subtask", "field"]
    list_filter = ["field"]
    search_fields = ["user__username", "subtask__application__number"]
    readonly_fields = ["at", "user", "subtask", "field"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
