from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "real_name", "mobile", "is_staff", "is_superuser"]
    search_fields = ["username", "real_name", "mobile"]
    filter_horizontal = ["departments", "groups", "user_permissions"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("实名信息与所属部门"), {"fields": ["real_name", "id_number", "mobile", "departments"]}),
    ]
