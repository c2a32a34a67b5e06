from django.contrib import admin

from .models import Delivery, Message


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    readonly_fields = ["channel", "address", "status", "attempts", "last_error", "sent_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "subject", "read_at"]
    list_filter = ["kind"]
    search_fields = ["subject", "user__username"]
    readonly_fields = ["user", "application", "kind", "subject", "body", "created_at", "read_at"]
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["message", "channel", "address", "status", "attempts", "sent_at"]
    list_filter = ["channel", "status"]
    readonly_fields = [
        "message",
        "channel",
        "address",
        "status",
        "attempts",
        "last_error",
        "sent_at",
    ]

    def has_add_permission(self, request):
        return False
