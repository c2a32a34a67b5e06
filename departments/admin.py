from django.contrib import admin
from django.db import models
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from .models import CallbackReceipt, Department, ServiceHall


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "handling", "base_url"]
    search_fields = ["code", "name"]
    list_filter = ["handling"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    # An error report of a failed save must not show the secrets that were posted.
    @method_decorator(sensitive_post_parameters("shared_secret", "previous_secret"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)


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
