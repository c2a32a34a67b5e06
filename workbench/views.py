"""Window staff pages: the worklist, one sub-task and its actions, receipts, walk-ins."""

import uuid
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import services as account_services
from accounts.models import Mandate, User
from accounts.validators import clean_mobile, clean_resident_id
from applications import department_view
from applications import services as application_services
from applications.documents import completion_notice_pdf, receipt_pdf
from applications.models import Application, SubTask
from applications.models import SubTaskStatus as S
from applications.services import ApplicationInvalid, Refused
from applications.views import flash
from bundles import webforms
from bundles.models import Bundle
from bundles.services import ChoiceError, chosen_bundle_items, form_specs, materials_of
from portal import text as text_rules
from portal.paging import page_of
from privacy.models import Disclosure

from . import services
from .models import RejectionReason

OUTPUT_ROWS = 3
#: As long as a user's real name may be (accounts.User.real_name).
NAME_LENGTH = 64


def staff_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_superuser or request.user.is_department_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@staff_required
def worklist(request):
    status = request.GET.get("status", "")
    bundle = request.GET.get("bundle", "")
    due = request.GET.get("due", "")
    today = timezone.localdate()
    subtasks = page_of(request, services.worklist(request.user, status, bundle, due, today))
    return render(
        request,
        "workbench/worklist.html",
        {
            "subtasks": subtasks,
            "page": subtasks,
            "today": today,
            "soon": services.due_soon_date(today),
            "filters": {"status": status, "bundle": bundle, "due": due},
            "statuses": [(v, label) for v, label in S.choices if v != S.WAITING],
            "bundles": Bundle.objects.published().order_by("code").values_list("code", "name"),
        },
    )


def _subtask(request, pk) -> SubTask:
    return get_object_or_404(
        application_services.subtasks_for_staff(request.user).select_related(
            "item", "department", "application__bundle", "application__applicant", "claimed_by"
        ),
        pk=pk,
    )


@staff_required
def subtask_detail(request, pk, revealed=None):
    subtask = _subtask(request, pk)
    application = subtask.application
    materials = {m.code for m in subtask.item.materials.all()}
    return render(
        request,
        "workbench/subtask.html",
        {
            "subtask": subtask,
            "application": application,
            "fields": department_view.staff_rows(subtask),
            "applicant": department_view.applicant_summary(subtask),
            "revealed_path": next(iter(revealed or {}), ""),
            "revealed_value": next(iter((revealed or {}).values()), ""),
            "uploads": department_view.uploads_visible_to(request.user)
            .filter(application=application, material__code__in=materials)
            .select_related("material"),
            "item_materials": subtask.item.materials.all(),
            "events": application.events.select_related("subtask__item", "user").order_by(
                "at", "id"
            ),
            "reasons": RejectionReason.objects.filter(
                Q(department__isnull=True) | Q(department=subtask.department)
            ),
            "output_rows": range(OUTPUT_ROWS),
            "today": timezone.localdate(),
            "is_manual": subtask.handling == "manual",
            "can_reject": subtask.status in (S.DISPATCHED, S.ACCEPTED, S.SUPPLEMENT_REQUESTED),
        },
    )


@staff_required
@require_POST
def claim(request, pk):
    try:
        services.claim(_subtask(request, pk).pk, request.user)
        messages.success(request, _("已认领，该事项由您经办。"))
    except Refused as exc:
        flash(request, *exc.messages)
    return redirect("staff-subtask", pk)


@staff_required
@require_POST
def reveal(request, pk):
    subtask = _subtask(request, pk)
    path = request.POST.get("field", "")
    try:
        value = department_view.reveal(subtask, request.user, path, Disclosure.Channel.WEB)
    except department_view.NotAnIdentifier:
        raise PermissionDenied from None
    return subtask_detail(request, pk, revealed={path: value})


@staff_required
@require_POST
def act(request, pk, action):
    subtask = _subtask(request, pk)
    reason = request.POST.get("reason", "").strip()
    if action == "reject":
        chosen = request.POST.get("reason_choice", "").strip()
        reason = "；".join(part for part in (chosen, reason) if part)
    outputs = {}
    for row in range(OUTPUT_ROWS):
        name = request.POST.get(f"output_name_{row}", "").strip()
        value = request.POST.get(f"output_value_{row}", "").strip()
        if name and value:
            outputs[name] = value
    try:
        application_services.staff_action(
            subtask.pk,
            request.user,
            action,
            reason=reason,
            outputs=outputs,
            materials=request.POST.getlist("materials"),
        )
        messages.success(request, _("已办理。"))
    except Refused as exc:
        flash(request, *exc.messages)
    return redirect("staff-subtask", pk)


@staff_required
@require_POST
def retry(request, pk, manual=False):
    try:
        application_services.retry_failed(_subtask(request, pk).pk, request.user, to_manual=manual)
        messages.success(request, _("已重新推送。") if not manual else _("已改为窗口办理。"))
    except Refused as exc:
        flash(request, *exc.messages)
    return redirect("staff-subtask", pk)


@staff_required
@require_POST
def tracking(request, pk):
    subtask = _subtask(request, pk)
    try:
        application_services.set_tracking_number(
            subtask.application_id, request.user, request.POST.get("tracking_number", "")
        )
        messages.success(request, _("已登记邮寄单号，申请人将收到通知。"))
    except Refused as exc:
        flash(request, *exc.messages)
    return redirect("staff-subtask", pk)


def _staff_application(request, pk) -> Application:
    application = get_object_or_404(
        Application.objects.select_related("bundle", "applicant"), pk=pk
    )
    if not services.staff_can_see_application(request.user, application):
        raise PermissionDenied
    return application


@staff_required
def receipt(request, pk):
    """受理回执: what was received, what is still to come (容缺), the promised date."""
    return _pdf(receipt_pdf(_staff_application(request, pk)), f"receipt-{pk}.pdf")


@staff_required
def notice(request, pk):
    """办结通知书: each part's result."""
    return _pdf(completion_notice_pdf(_staff_application(request, pk)), f"notice-{pk}.pdf")


def _pdf(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@staff_required
def walk_in(request, code=None):
    """窗口代办: a clerk files a bundle for a citizen at the window, scanning the materials
    brought; a material that may come later (容缺) is left for the citizen to supply online."""
    if code is None:
        return render(
            request,
            "workbench/walk_in_choose.html",
            {
                "bundles": Bundle.objects.published().order_by("audience", "code"),
            },
        )
    bundle = get_object_or_404(Bundle.objects.published(), code=code)
    bundle_items = bundle.bundle_items()
    chosen_codes = request.POST.getlist("items")
    errors: dict[str, list[str]] = {}
    try:
        chosen = chosen_bundle_items(bundle, chosen_codes)
    except ChoiceError as exc:
        errors["items"] = [str(exc)]
        chosen = chosen_bundle_items(bundle, [])
    specs = form_specs(chosen)
    values = webforms.parse(specs, request.POST) if request.method == "POST" else {}
    person = {
        k: request.POST.get(f"person.{k}", "").strip() for k in ("real_name", "id_number", "mobile")
    }
    if request.method == "POST" and "_more" not in request.POST and not errors:
        try:
            with transaction.atomic():
                citizen = _citizen_at_window(person)
                application = application_services.create_application(
                    citizen,
                    bundle.code,
                    values,
                    chosen_codes,
                    {"method": request.POST.get("delivery.method", "pickup")},
                    filed_by=request.user,
                )
                for material_code, upload in request.FILES.items():
                    try:
                        application_services.attach_material(
                            application, material_code, upload, request.user
                        )
                    except ApplicationInvalid as exc:
                        raise ApplicationInvalid(
                            {f"materials.{material_code}": exc.messages}
                        ) from None
                application_services.submit(application.pk, request.user)
            messages.success(
                request,
                _("已代为提交，受理编号 %(n)s。")
                % {"n": Application.objects.get(pk=application.pk).number},
            )
            return redirect("staff-walk-in-done", application.pk)
        except ApplicationInvalid as exc:
            errors = exc.errors
    return render(
        request,
        "workbench/walk_in.html",
        {
            "bundle": bundle,
            "optional_items": [bi for bi in bundle_items if bi.optional],
            "chosen": chosen_codes,
            "person": person,
            "person_errors": {k: errors.get(f"person.{k}", []) for k in person},
            "sections": webforms.render(specs, values, errors),
            "materials": [
                {"material": m, "errors": errors.get(f"materials.{m.code}", [])}
                for m in materials_of(chosen)
            ],
            "error_list": webforms.error_summary(errors),
        },
        status=400 if errors else 200,
    )


def _citizen_at_window(person) -> User:
    """The citizen by their ID number, or a new account without a password for them: they
    claim it by registering online with the same name, number and mobile, and the code texted
    to that mobile."""
    errors = {}
    try:
        person["real_name"] = text_rules.clean(person["real_name"], NAME_LENGTH)
    except ValidationError as exc:
        errors["person.real_name"] = exc.messages
    else:
        if text_rules.is_blank(person["real_name"]):
            errors["person.real_name"] = [_("请填写申请人姓名。")]
    try:
        person["id_number"] = clean_resident_id(person["id_number"])
    except ValidationError as exc:
        errors["person.id_number"] = exc.messages
    try:
        person["mobile"] = clean_mobile(person["mobile"])
    except ValidationError as exc:
        errors["person.mobile"] = exc.messages
    if errors:
        raise ApplicationInvalid(errors)
    citizen = User.objects.with_id_number(person["id_number"]).first()
    if citizen is None:
        citizen = User(
            # A name that tells nothing of the person: never the ID number.
            username=f"w{uuid.uuid4().hex[:16]}",
            real_name=person["real_name"],
            id_number=person["id_number"],
            mobile=person["mobile"],
        )
        citizen.set_unusable_password()
        citizen.save()
    elif citizen.real_name != person["real_name"]:
        raise ApplicationInvalid({"person.real_name": [_("姓名与该身份证号码登记的姓名不一致。")]})
    elif citizen.has_usable_password() and citizen.mobile != person["mobile"]:
        # An account opened online with this ID number but another mobile: filing into it
        # would hand the applicant's data to whoever holds that account.
        raise ApplicationInvalid(
            {
                "person.mobile": [
                    _(
                        "该身份证号码已有网上账户，但手机号码与账户登记的不一致：请核实申请人身份；"
                        "如账户不是申请人本人开立的，请联系管理员处理后再办理。"
                    )
                ]
            }
        )
    return citizen


@staff_required
def walk_in_done(request, pk):
    application = get_object_or_404(
        Application.objects.select_related("bundle", "applicant"), pk=pk, filed_by=request.user
    )
    return render(request, "workbench/walk_in_done.html", {"application": application})


@staff_required
def mandates(request):
    """市场监管 window: pending requests to act for an enterprise, found by credit code, and
    verified once the clerk has seen the business licence and the written authorisation."""
    if not request.user.may_verify_mandates:
        raise PermissionDenied
    query = request.GET.get("q", "").strip()[:18].upper()
    pending = Mandate.objects.filter(status=Mandate.Status.PENDING).select_related(
        "agent", "enterprise"
    )
    if query:
        pending = pending.filter(enterprise__credit_code__startswith=query)
    return render(
        request,
        "workbench/mandates.html",
        {"pending": page_of(request, pending.order_by("requested_at")), "q": query, "errors": {}},
    )


@staff_required
@require_POST
def mandate_decide(request, pk):
    if not request.user.may_verify_mandates:
        raise PermissionDenied
    accept = request.POST.get("decision") == "verify"
    try:
        account_services.verify_at_window(
            pk,
            request.user,
            accept,
            legal_rep_name=request.POST.get("legal_rep_name", ""),
            legal_rep_id_number=request.POST.get("legal_rep_id_number", ""),
            legal_rep_mobile=request.POST.get("legal_rep_mobile", ""),
            note=request.POST.get("note", ""),
            checked=request.POST.get("checked") == "on",
        )
    except Mandate.DoesNotExist:
        raise Http404 from None
    except account_services.AccountRefused as exc:
        flash(request, *exc.messages)
    else:
        done = _("已核验，经办人可以企业名义办事。") if accept else _("已退回。")
        messages.success(request, done)
    return redirect("staff-mandates")
