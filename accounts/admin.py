from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy.policy import mask

from .models import Enterprise, Mandate, User, Verification


class MandateInline(admin.TabularInline):
    """Mandates are proven through the portal (legal representative, window, founding); the
    admin shows them and may revoke one, but does not make one up."""

    model = Mandate
    fk_name = "agent"
    extra = 0
    can_delete = False
    fields = ["enterprise", "status", "proof", "note", "requested_at", "decided_at", "decided_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "real_name", "masked_mobile", "role", "is_staff", "is_superuser"]
    list_filter = ["role", *BaseUserAdmin.list_filter]
    search_fields = ["username", "real_name", "mobile"]
    filter_horizontal = ["departments", "groups", "user_permissions"]
    inlines = [MandateInline]
    # A real-name ID number is shown masked and not edited here: it identifies the person.
    readonly_fields = ["masked_id_number"]

    @admin.display(description=_("居民身份证号码"))
    def masked_id_number(self, user):
        return mask(user.id_number) if user.id_number else "—"

    @admin.display(description=_("手机号码"))
    def masked_mobile(self, user):
        return mask(user.mobile) if user.mobile else "—"

    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (
            _("实名信息与所属部门"),
            {"fields": ["real_name", "masked_id_number", "mobile", "departments"]},
        ),
        # The role decides what staff may do: window work, or supervision of their departments
        # (department supervisor) or of the whole centre (centre supervisor).
        (_("岗位"), {"fields": ["role", "hall"]}),
    ]


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["credit_code", "name", "legal_rep_name"]
    search_fields = ["credit_code", "name"]
    fields = [
        "credit_code",
        "name",
        "legal_rep_name",
        "masked_legal_rep_id",
        "masked_legal_rep_mobile",
    ]
    readonly_fields = ["legal_rep_name", "masked_legal_rep_id", "masked_legal_rep_mobile"]

    def get_readonly_fields(self, request, obj=None):
        # A credit code names the enterprise its mandates are for: it is not changed here.
        return [*self.readonly_fields, "credit_code"] if obj is not None else self.readonly_fields

    @admin.display(description=_("法定代表人手机号码"))
    def masked_legal_rep_mobile(self, enterprise):
        return mask(enterprise.legal_rep_mobile) if enterprise.legal_rep_mobile else "—"

    @admin.display(description=_("法定代表人身份证号码"))
    def masked_legal_rep_id(self, enterprise):
        # Recorded from the licence (at a window, or when the portal issued it): not typed here.
        return mask(enterprise.legal_rep_id_number) if enterprise.legal_rep_id_number else "—"


@admin.register(Mandate)
class MandateAdmin(admin.ModelAdmin):
    list_display = ["agent", "enterprise", "status", "proof", "requested_at", "decided_at"]
    list_filter = ["status", "proof"]
    search_fields = ["enterprise__credit_code", "enterprise__name", "agent__real_name"]
    readonly_fields = [
        "agent", "enterprise", "status", "proof", "note", "requested_at", "decided_at",
        "decided_by",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):
    """SMS verifications under way or done, for support; the data they carry is not shown."""

    list_display = ["created_at", "purpose", "claims", "attempts", "expires_at", "used_at"]
    list_filter = ["purpose"]
    fields = ["purpose", "claims", "attempts", "created_at", "expires_at", "used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# django-otp's own admin shows a device's secret as a QR code: an administrator could read any
# account's second factor. Ours only lists devices and removes one (a lost phone); the person
# then sets a new one up at their next sign-in.
admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class AuthenticatorAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    search_fields = ["user__username", "user__real_name"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
