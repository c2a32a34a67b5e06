from django.contrib import admin

from .models import Bundle, BundleItem, FormField, MaterialType, ServiceItem


@admin.register(FormField)
class FormFieldAdmin(admin.ModelAdmin):
    list_display = ["key", "label", "type", "required", "section", "position"]
    list_filter = ["type", "section"]
    search_fields = ["key", "label"]


@admin.register(MaterialType)
class MaterialTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "required", "may_follow_later", "max_size_mb"]
    search_fields = ["code", "name"]


@admin.register(ServiceItem)
class ServiceItemAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "department", "time_limit_days"]
    list_filter = ["department"]
    search_fields = ["code", "name"]
    filter_horizontal = ["fields", "materials"]


class BundleItemInline(admin.TabularInline):
    model = BundleItem
    extra = 0
    filter_horizontal = ["depends_on"]


@admin.register(Bundle)
class BundleAdmin(admin.ModelAdmin):
    list_display = ["code", "version", "name", "audience", "state", "published_at"]
    list_filter = ["state", "audience"]
    search_fields = ["code", "name"]
    readonly_fields = ["state", "published_at"]
    inlines = [BundleItemInline]
