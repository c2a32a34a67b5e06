from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Enterprise, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "real_name", "mobile", "role", "is_staff", "is_superuser"]
    list_filter = ["role", *BaseUserAdmin.list_filter]
    search_fields = ["username", "real_name", "mobile"]
    filter_horizontal = ["departments", "enterprises", "groups", "user_permissions"]
    readonly_fields = ["failed_logins", "locked_until"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (
            _("实名信息、企业与所属部门"),
            {"fields": ["real_name", "id_number", "mobile", "enterprises", "departments"]},
        ),
        # The role decides what staff may do: window work, or supervision of their departments
        # (department supervisor) or of the whole centre (centre supervisor).
        (_("岗位"), {"fields": ["role", "hall"]}),
        (_("登录锁定"), {"fields": ["failed_logins", "locked_until"]}),
    ]


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["credit_code", "name"]
    search_fields = ["credit_code", "name"]
