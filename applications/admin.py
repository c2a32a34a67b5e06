import json

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from bundles.services import chosen_bundle_items, form_specs
from privacy import policy

from . import services
from .models import Application, Event, IdempotencyRecord, SubTask, Upload, WorkerHeartbeat


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SubTaskInline(ReadOnlyInline):
    model = SubTask
    fields = ["item", "department", "status", "handling", "case_ref", "attempts", "deadline"]
    readonly_fields = fields


class EventInline(ReadOnlyInline):
    model = Event
    fields = ["at", "subtask", "actor", "user", "from_status", "to_status", "reason"]
    readonly_fields = fields


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["number", "bundle", "applicant", "status", "deadline", "submitted_at"]
    list_filter = ["status", "bundle__code"]
    search_fields = ["number", "applicant__username", "applicant__real_name"]
    # Who applies, for whom, and under which bundle are facts of the application: changing
    # one here would hand it (and its personal data) to someone else, past every mandate.
    readonly_fields = [
        "bundle",
        "applicant",
        "acting_for",
        "filed_by",
        "number",
        "status",
        "submitted_at",
        "finished_at",
        "deadline",
        "deadline_note",
        "outcome_reason",
        "advanced_at",
    ]
    inlines = [SubTaskInline, EventInline]
    # The answers are the applicant's: shown with identifiers masked, never edited here.
    exclude = ["form"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "answers"]

    @admin.display(description=_("表单（敏感信息已打码）"))
    def answers(self, application):
        specs = form_specs(chosen_bundle_items(application.bundle, application.chosen_items))
        return format_html(
            "<pre>{}</pre>",
            json.dumps(policy.masked_form(specs, application.form), ensure_ascii=False, indent=1),
        )


@admin.register(SubTask)
class SubTaskAdmin(admin.ModelAdmin):
    list_display = ["id", "application", "item", "department", "status", "handling", "attempts"]
    list_filter = ["status", "department", "handling"]
    search_fields = ["application__number", "case_ref"]
    readonly_fields = [
        "status",
        "idempotency_key",
        "case_ref",
        "attempts",
        "last_error",
        "inputs",
        "outputs",
        "next_attempt_at",
        "polled_at",
    ]
    raw_id_fields = ["application", "item", "department"]
    actions = ["retry", "switch_to_manual"]

    @admin.action(description=_("重新推送失败的子事项"))
    def retry(self, request, queryset):
        self._retry(request, queryset, to_manual=False)

    @admin.action(description=_("失败的子事项改为窗口人工办理"))
    def switch_to_manual(self, request, queryset):
        self._retry(request, queryset, to_manual=True)

    def _retry(self, request, queryset, to_manual):
        done = 0
        for subtask_id in queryset.values_list("pk", flat=True):
            try:
                services.retry_failed(subtask_id, request.user, to_manual=to_manual)
                done += 1
            except services.ActionNotAllowed as exc:
                self.message_user(request, f"#{subtask_id}: {exc}", messages.WARNING)
        self.message_user(request, _("已处理 %(n)d 个子事项。") % {"n": done})


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the system keeps for itself: shown for inspection, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["at", "application", "subtask", "actor", "from_status", "to_status"]
    list_filter = ["actor", "to_status"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = [
        "application",
        "material",
        "original_name",
        "content_type",
        "size",
        "uploaded_at",
    ]
    readonly_fields = ["sha256", "size", "content_type"]
    raw_id_fields = ["application", "uploaded_by"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["key", "user", "status_code", "created_at"]
    # The kept answer may echo an applicant's form: not shown.
    exclude = ["response"]
    search_fields = ["key", "user__username"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["hostname", "seen_at"]
