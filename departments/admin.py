from django.contrib import admin
from django.db import models

from .models import CallbackReceipt, Department, ServiceHall


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "handling", "base_url"]
    search_fields = ["code", "name"]
    list_filter = ["handling"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(CallbackReceipt)
class CallbackReceiptAdmin(admin.ModelAdmin):
    list_display = ["department", "event_id", "received_at"]
    list_filter = ["department"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ServiceHall)
class ServiceHallAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "address"]
    search_fields = ["code", "name"]
