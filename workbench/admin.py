from django.contrib import admin

from .models import RejectionReason


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin):
    list_display = ["text", "department", "position"]
    list_filter = ["department"]
