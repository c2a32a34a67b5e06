"""Applying step by step: optional items → the form's sections → materials → delivery →
review → submit. Every step saves the draft, so it can be resumed later, on any device."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bundles import webforms
from bundles.fieldtypes import clean_form
from bundles.models import Bundle
from bundles.services import chosen_bundle_items, form_specs, materials_of
from portal.throttling import rate_limited, throttle, too_many

from . import services
from .models import Application, DeliveryMethod
from .models import ApplicationStatus as A
from .views import attach_all

DELIVERY_PARTS = ("recipient", "mobile", "address", "hall")


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    keys: tuple[str, ...] = ()


def steps_of(application: Application, bundle_items=None) -> list[Step]:
    bundle_items = bundle_items or application.bundle.bundle_items()
    chosen = chosen_bundle_items(application.bundle, application.chosen_items)
    steps = []
    if any(bi.optional for bi in bundle_items):
        steps.append(Step("items", _("选办事项")))
    sections: dict[str, list[str]] = {}
    for spec in form_specs(chosen):
        sections.setdefault(spec.section or _("其他信息"), []).append(spec.key)
    for number, (title, keys) in enumerate(sections.items(), start=1):
        steps.append(Step(f"form-{number}", title, tuple(keys)))
    if materials_of(chosen):
        steps.append(Step("materials", _("上传材料")))
    steps += [Step("delivery", _("送达方式")), Step("review", _("核对并提交"))]
    return steps


@require_POST
@rate_limited("applications")
def start(request, code):
    """Start applying, or resume the draft already begun for this bundle."""
    bundle = get_object_or_404(Bundle.objects.published(), code=code)
    if not request.user.is_authenticated:
        # Back to the bundle's page after logging in: this address only takes a POST.
        return redirect_to_login(reverse("bundle-page", args=[code]))
    draft = Application.objects.filter(
        applicant=request.user, bundle=bundle, status=A.DRAFT
    ).first()
    if draft is None:
        try:
            draft = services.create_application(
                request.user, bundle.code, enterprise=request.POST.get("enterprise") or None
            )
        except services.Refused as exc:
            for problem in exc.messages:
                messages.error(request, problem)
            return redirect("bundle-page", code)
    return redirect("application-step", draft.pk, steps_of(draft)[0].slug)


def _draft(request, pk) -> Application:
    application = get_object_or_404(
        Application.objects.select_related("bundle"), pk=pk, applicant=request.user
    )
    if application.status != A.DRAFT:
        raise Http404
    return application


@login_required
def step(request, pk, slug):
    application = _draft(request, pk)
    bundle_items = application.bundle.bundle_items()
    steps = steps_of(application, bundle_items)
    current = next((s for s in steps if s.slug == slug), None)
    if current is None:
        return redirect("application-step", pk, steps[0].slug)
    index = steps.index(current)
    errors: dict[str, list[str]] = {}
    values = dict(application.form)
    if request.FILES and not throttle("uploads")().allow_request(request, None):
        return too_many(request, 60)
    if request.method == "POST":
        errors, values = _save(request, application, current)
        if not errors and current.slug == "review":
            return redirect("application-page", application.pk)
        if not errors and "_more" not in request.POST:
            if "_later" in request.POST:
                messages.success(request, _("已保存草稿，可随时在“我的申请”中继续填写。"))
                return redirect("my-applications")
            following = steps_of(application)
            position = next(i for i, s in enumerate(following) if s.slug == current.slug)
            return redirect(
                "application-step", pk, following[min(position + 1, len(following) - 1)].slug
            )
    context = {
        "application": application,
        "steps": steps,
        "current": current,
        "previous": steps[index - 1] if index else None,
        "errors": errors,
        "error_list": _error_list(errors, steps, current),
    }
    context |= _step_context(application, current, bundle_items, values, errors, request)
    return render(
        request,
        f"applications/steps/{_template(current)}.html",
        context,
        status=400 if errors else 200,
    )


def _template(current: Step) -> str:
    return "form" if current.slug.startswith("form-") else current.slug


def _save(request, application, current):
    """Save what the step posted; return (errors, values to show again)."""
    values = dict(application.form)
    try:
        if current.slug == "items":
            services.update_draft(application, items=request.POST.getlist("items"))
        elif current.slug.startswith("form-"):
            specs = _specs(application, current)
            posted = webforms.parse(specs, request.POST)
            values = {k: v for k, v in application.form.items() if k not in current.keys} | posted
            cleared = {key: None for key in current.keys if key not in posted}
            services.update_draft(application, form=posted | cleared)
            if "_more" not in request.POST and "_later" not in request.POST:
                _cleaned, missing = clean_form(
                    specs,
                    {k: application.form.get(k) for k in current.keys if k in application.form},
                )
                if missing:
                    return {f"form.{k}": v for k, v in missing.items()}, values
        elif current.slug == "materials":
            errors = attach_all(application, request)
            if errors:
                return {f"materials.{code}": problems for code, problems in errors.items()}, values
        elif current.slug == "delivery":
            delivery = {"method": request.POST.get("delivery.method", "")}
            delivery |= {p: request.POST.get(f"delivery.{p}", "").strip() for p in DELIVERY_PARTS}
            services.update_draft(application, delivery={k: v for k, v in delivery.items() if v})
        elif current.slug == "review":
            services.submit(application.pk, request.user)
            messages.success(request, _("申请已提交。"))
    except services.ApplicationInvalid as exc:
        return exc.errors, values
    except services.ActionNotAllowed as exc:
        return {"application": [str(exc)]}, values
    return {}, values


def _specs(application, current):
    chosen = chosen_bundle_items(application.bundle, application.chosen_items)
    return [s for s in form_specs(chosen) if s.key in current.keys]


def _step_context(application, current, bundle_items, values, errors, request) -> dict:
    chosen = chosen_bundle_items(application.bundle, application.chosen_items)
    if current.slug == "items":
        return {
            "optional_items": [bi for bi in bundle_items if bi.optional],
            "chosen": application.chosen_items,
        }
    if current.slug.startswith("form-"):
        return {
            "fields": webforms.render(_specs(application, current), values, errors)[0]["fields"]
            if current.keys
            else []
        }
    if current.slug == "materials":
        uploads = {}
        for upload in application.uploads.select_related("material"):
            uploads[upload.material.code] = upload
        return {
            "materials": [
                {
                    "material": m,
                    "upload": uploads.get(m.code),
                    "errors": errors.get(f"materials.{m.code}", []),
                }
                for m in materials_of(chosen)
            ]
        }
    if current.slug == "delivery":
        offered = application.bundle.delivery_options or DeliveryMethod.values
        delivery = dict(application.delivery)
        if request.method == "POST":
            delivery = {"method": request.POST.get("delivery.method", "")}
            delivery |= {p: request.POST.get(f"delivery.{p}", "") for p in DELIVERY_PARTS}
        return {
            "delivery": delivery,
            "delivery_methods": [(v, label) for v, label in DeliveryMethod.choices if v in offered],
            "delivery_errors": {
                p: errors.get(f"delivery.{p}", []) for p in ("method", *DELIVERY_PARTS)
            },
        }
    # review
    specs = form_specs(chosen)
    sections: dict[str, list] = {}
    for spec in specs:
        sections.setdefault(spec.section or _("其他信息"), []).append(
            {
                "label": spec.label,
                "value": application.form.get(spec.key),
                "type": spec.type,
                "key": spec.key,
            }
        )
    return {
        "sections": sections,
        "chosen_items": chosen,
        "uploads": application.uploads.select_related("material"),
        "materials": materials_of(chosen),
        "delivery_label": DeliveryMethod(application.delivery.get("method", "electronic")).label
        if application.delivery.get("method") in DeliveryMethod.values
        else "",
    }


def _error_list(errors, steps, current) -> list[dict]:
    """The error summary; a field of another step links to that step's page."""
    step_of = {key: s for s in steps for key in s.keys}

    def field_href(field):
        owner = step_of.get(field)
        anchor = webforms.html_id(field)
        return f"#{anchor}" if owner in (None, current) else f"../{owner.slug}/#{anchor}"

    return webforms.error_summary(errors, field_href)
