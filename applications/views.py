"""The applicant's pages: my applications, one application, and what can be done there."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bundles.diagram import Node, svg
from bundles.models import MaterialType
from feedback.models import Rating
from portal.paging import page_of
from portal.throttling import rate_limited

from . import department_view, services
from .documents import certificate_pdf, receipt_pdf
from .models import OPEN_APPLICATION, Application, SubTask
from .models import ApplicationStatus as A
from .models import SubTaskStatus as S


def flash(request, *problems) -> None:
    """Say on the next page what could not be done."""
    for problem in problems:
        messages.error(request, problem)


@login_required
def my_applications(request):
    applications = page_of(
        request,
        Application.objects.filter(applicant=request.user)
        .select_related("bundle", "acting_for")
        .order_by("-created_at", "-id"),
    )
    return render(request, "applications/list.html", {"applications": applications})


def _own(request, pk) -> Application:
    return get_object_or_404(
        Application.objects.select_related("bundle", "acting_for"), pk=pk, applicant=request.user
    )


@login_required
def application_detail(request, pk):
    """Its parts as a picture in dependency order, their status and results, the timeline,
    and whatever the applicant can do now: supplement, withdraw, rate, report."""
    application = _own(request, pk)
    if application.status == A.DRAFT:
        from .wizard import steps_of

        return redirect("application-step", pk, steps_of(application)[0].slug)
    subtasks = list(application.subtasks.select_related("item", "department"))
    nodes = [
        Node(
            code=st.item.code,
            title=st.item.name,
            subtitle=st.department.name,
            status=st.status,
            status_label=st.get_status_display(),
        )
        for st in subtasks
    ]
    dag = {st.item.code: frozenset(st.depends_on) for st in subtasks}
    waiting = [st for st in subtasks if st.status == S.SUPPLEMENT_REQUESTED]
    wanted_codes = {code for st in waiting for code in st.supplement_materials}
    wanted = {m.code: m for m in MaterialType.objects.filter(code__in=wanted_codes)}
    rating = Rating.objects.filter(application=application).first()
    pending = list(MaterialType.objects.filter(code__in=application.pending_materials))
    return render(
        request,
        "applications/detail.html",
        {
            "application": application,
            "subtasks": subtasks,
            "diagram": mark_safe(  # noqa: S308  (built with escape() throughout)
                svg(nodes, dag, _("%(name)s：办理进度") % {"name": application.bundle.name})
            ),
            "events": application.events.select_related("subtask__item").order_by("at", "id"),
            "uploads": application.uploads.select_related("material").order_by("-uploaded_at"),
            "supplements": [
                {
                    "subtask": st,
                    "materials": [wanted[c] for c in st.supplement_materials if c in wanted],
                }
                for st in waiting
            ],
            "pending": pending,
            "can_withdraw": application.status in OPEN_APPLICATION,
            "can_rate": rating is None
            and application.status in (A.COMPLETED, A.PARTIALLY_COMPLETED, A.REJECTED),
            "rating": rating,
            "scores": Rating.Score.choices,
            "electronic": application.delivery.get("method") == "electronic",
        },
    )


def attach_all(application, request, then=None) -> dict[str, list[str]]:
    """Attach every uploaded file, then do ``then()``; if any file is refused (or ``then``
    is), none is kept: the errors by material code (or "" for ``then``'s)."""
    errors: dict[str, list[str]] = {}
    with transaction.atomic():
        for code, upload in request.FILES.items():
            try:
                services.attach_material(application, code, upload, request.user)
            except services.Refused as exc:
                errors[code] = exc.messages
        if not errors and then is not None:
            try:
                then()
            except services.Refused as exc:
                errors[""] = exc.messages
        if errors:
            transaction.set_rollback(True)
    return errors


@login_required
@require_POST
@rate_limited("uploads")
def supplement(request, pk):
    """Upload what a department asked for, and let the waiting parts resume."""
    application = _own(request, pk)
    errors = attach_all(
        application,
        request,
        then=lambda: services.supply_supplement(
            application.pk, request.user, request.POST.get("note", "")[:500]
        ),
    )
    if errors:
        flash(request, *(m for problems in errors.values() for m in problems))
    else:
        messages.success(request, _("补正材料已提交，相关部门将继续办理。"))
    return redirect("application-page", pk)


@login_required
@require_POST
@rate_limited("uploads")
def upload_pending(request, pk):
    """容缺受理: supply online a material the window accepted as missing."""
    application = _own(request, pk)
    errors = attach_all(application, request)
    if errors:
        flash(request, *(m for problems in errors.values() for m in problems))
    elif request.FILES:
        messages.success(request, _("材料已补交。"))
    return redirect("application-page", pk)


@login_required
@require_POST
def withdraw(request, pk):
    application = _own(request, pk)
    try:
        services.withdraw(application.pk, request.user, request.POST.get("reason", "")[:500])
        messages.success(request, _("申请已撤回。"))
    except services.Refused as exc:
        flash(request, *exc.messages)
    return redirect("application-page", pk)


@login_required
def receipt(request, pk):
    """The acceptance receipt (受理回执), for the applicant too."""
    application = _own(request, pk)
    if application.status == A.DRAFT:
        raise Http404
    response = HttpResponse(receipt_pdf(application), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{pk}.pdf"'
    return response


@login_required
def certificate(request, pk, subtask_id):
    """An approved part's result as an electronic certificate (PDF)."""
    application = _own(request, pk)
    subtask = get_object_or_404(
        SubTask.objects.select_related("item", "department"),
        pk=subtask_id,
        application=application,
        status=S.APPROVED,
    )
    subtask.application = application
    response = HttpResponse(certificate_pdf(subtask), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="certificate-{subtask.pk}.pdf"'
    return response


@login_required
def download_upload(request, pk):
    """An uploaded material: for its applicant, and for staff of a department whose item asks
    for it once the part has reached them (each such download is recorded)."""
    upload = (
        department_view.uploads_visible_to(request.user)
        .select_related("material", "application")
        .filter(pk=pk)
        .first()
    )
    if upload is None:
        raise Http404
    department_view.record_download(upload, request.user)
    response = FileResponse(upload.file.open("rb"), content_type=upload.content_type)
    response["Content-Disposition"] = f'attachment; filename="upload-{upload.pk}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
