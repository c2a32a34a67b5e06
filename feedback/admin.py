from django.contrib import admin

from .models import FollowUp, Rating


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["application", "score", "created_at"]
    list_filter = ["score"]
    readonly_fields = ["application", "score", "comment", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "department", "status", "deadline", "created_at"]
    list_filter = ["kind", "status", "department"]
    readonly_fields = [
        "kind",
        "reporter",
        "application",
        "description",
        "created_at",
        "status",
        "answered_at",
        "handled_by",
    ]

    def has_add_permission(self, request):
        # A follow-up comes from a citizen's report or a low rating, never from a blank form.
        return False
