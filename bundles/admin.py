"""Administrators build and publish bundles here, without code.

A draft can be edited; publishing checks it and freezes it. A published version is shown
read-only, with a button to start the next draft version — applications keep running on the
version they were submitted under.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from . import services
from .diagram import bundle_svg
from .models import (
    Bundle,
    BundleItem,
    EligibilityRule,
    FormField,
    MaterialType,
    ServiceItem,
    bundle_problems,
)


@admin.register(FormField)
class FormFieldAdmin(admin.ModelAdmin):
    list_display = ["key", "label", "type", "required", "section", "position"]
    list_filter = ["type", "section"]
    search_fields = ["key", "label"]


@admin.register(MaterialType)
class MaterialTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "required", "may_follow_later", "e_certificate", "max_size_mb"]
    search_fields = ["code", "name"]


@admin.register(ServiceItem)
class ServiceItemAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "department", "time_limit_days"]
    list_filter = ["department"]
    search_fields = ["code", "name"]
    filter_horizontal = ["fields", "materials"]


class BundleItemFormSet(forms.BaseInlineFormSet):
    """Refuses a bundle whose items cannot run, before anything is saved."""

    def clean(self):
        super().clean()
        entries = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("item"):
                continue
            entries.append((data["item"], list(data.get("depends_on") or [])))
        if any(form.errors for form in self.forms):
            return
        problems = bundle_problems(entries)
        if problems:
            raise ValidationError(problems)


class BundleItemInline(admin.TabularInline):
    model = BundleItem
    formset = BundleItemFormSet
    extra = 1
    fields = ["item", "optional", "position", "depends_on"]
    formfield_overrides = {
        models.ManyToManyField: {"widget": forms.SelectMultiple(attrs={"size": 6})},
    }

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "item":
            kwargs["queryset"] = ServiceItem.objects.select_related("department")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "depends_on":
            kwargs["queryset"] = ServiceItem.objects.select_related("department")
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        # A plain multiple select: no JavaScript widget, and nothing to "add" from here.
        field.widget = forms.SelectMultiple(attrs={"size": 6}, choices=field.widget.choices)
        return field


class EligibilityRuleInline(admin.TabularInline):
    model = EligibilityRule
    extra = 0
    fields = ["rule", "field", "value", "message", "position"]


@admin.register(Bundle)
class BundleAdmin(admin.ModelAdmin):
    list_display = ["code", "version", "name", "audience", "state", "published_at"]
    list_filter = ["state", "audience"]
    search_fields = ["code", "name", "life_event"]
    readonly_fields = ["state", "published_at", "diagram", "check_result"]
    inlines = [BundleItemInline, EligibilityRuleInline]
    change_form_template = "admin/bundles/bundle/change_form.html"
    fieldsets = [
        (None, {"fields": ["code", "version", "name", "audience", "state", "published_at"]}),
        (
            _("介绍"),
            {
                "fields": [
                    "life_event",
                    "keywords",
                    "description",
                    "batch",
                    "lead_department",
                    "source",
                    "savings",
                    "delivery_options",
                ]
            },
        ),
        (_("事项关系图"), {"fields": ["diagram", "check_result"]}),
    ]

    def has_change_permission(self, request, obj=None):
        # Published and withdrawn versions are frozen: edit a new draft version instead.
        if obj is not None and not obj.is_editable:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "code", "version"]
        return self.readonly_fields

    @admin.display(description=_("事项关系图"))
    def diagram(self, obj):
        if obj is None or obj.pk is None or not obj.items.exists():
            return _("保存事项后在此显示关系图。")
        return mark_safe(bundle_svg(obj))  # noqa: S308  (built with escape() throughout)

    @admin.display(description=_("发布前检查"))
    def check_result(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        problems = obj.problems()
        return "；".join(str(p) for p in problems) if problems else _("可以发布。")

    def get_urls(self):
        def view(name, handler):
            return path(
                f"<id:pk>/{name}/",
                self.admin_site.admin_view(require_POST(handler)),
                name=f"bundles_bundle_{name.replace('-', '_')}",
            )

        return [
            view("publish", self.publish_view),
            view("unpublish", self.unpublish_view),
            view("new-version", self.new_version_view),
            *super().get_urls(),
        ]

    def _bundle(self, request, pk):
        if not request.user.has_perm("bundles.change_bundle"):
            raise PermissionDenied
        return get_object_or_404(Bundle, pk=pk)

    def _back(self, bundle):
        return HttpResponseRedirect(reverse("admin:bundles_bundle_change", args=[bundle.pk]))

    def _change_state(self, request, pk, change, done: str):
        """Publish or take down, and say how it went: the reason when it cannot be done."""
        bundle = self._bundle(request, pk)
        try:
            change(bundle)
        except ValidationError as exc:
            for problem in exc.messages:
                self.message_user(request, problem, messages.ERROR)
        else:
            self.message_user(request, done % {"b": bundle}, messages.SUCCESS)
        return self._back(bundle)

    def publish_view(self, request, pk):
        done = _("已发布“%(b)s”。新的申请将按此版本办理。")
        return self._change_state(request, pk, services.publish, done)

    def unpublish_view(self, request, pk):
        done = _("已下架“%(b)s”：不再受理新的申请，已提交的申请照常办理。")
        return self._change_state(request, pk, services.unpublish, done)

    def new_version_view(self, request, pk):
        draft = services.new_draft_version(self._bundle(request, pk))
        self.message_user(
            request, _("已创建草稿版本 v%(v)d，修改后发布即可生效。") % {"v": draft.version}
        )
        return self._back(draft)
