"""Citizen pages: apply for a bundle on one page, and follow an application."""

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe

from bundles import webforms
from bundles.diagram import Node, svg
from bundles.models import Bundle
from bundles.services import ChoiceError, chosen_bundle_items, form_specs, materials_of

from . import services
from .models import Application, DeliveryMethod

DELIVERY_PARTS = ("recipient", "mobile", "address", "hall")


@login_required
def apply(request, code):
    bundle = get_object_or_404(Bundle.objects.published(), code=code)
    bundle_items = bundle.bundle_items()
    chosen = request.POST.getlist("items") if request.method == "POST" else []
    errors: dict[str, list[str]] = {}
    try:
        chosen_items = chosen_bundle_items(bundle, chosen)
    except ChoiceError as exc:
        errors["items"] = [str(exc)]
        chosen_items = chosen_bundle_items(bundle, [])
    specs = form_specs(chosen_items)
    values = webforms.parse(specs, request.POST) if request.method == "POST" else {}
    offered = bundle.delivery_options or DeliveryMethod.values
    default = DeliveryMethod.ELECTRONIC if DeliveryMethod.ELECTRONIC in offered else offered[0]
    delivery = {"method": request.POST.get("delivery.method", default)}
    delivery.update(
        {part: request.POST.get(f"delivery.{part}", "").strip() for part in DELIVERY_PARTS}
    )

    if request.method == "POST" and "_more" not in request.POST and not errors:
        try:
            with transaction.atomic():
                application = services.create_application(
                    request.user,
                    bundle.code,
                    values,
                    chosen,
                    {k: v for k, v in delivery.items() if v},
                )
                for material_code, upload in request.FILES.items():
                    try:
                        services.attach_material(application, material_code, upload, request.user)
                    except services.ApplicationInvalid as exc:
                        raise services.ApplicationInvalid(
                            {f"materials.{material_code}": sum(exc.errors.values(), [])}
                        ) from None
                services.submit(application.pk, request.user)
            return redirect("application-page", application.pk)
        except services.ApplicationInvalid as exc:
            errors = exc.errors

    all_specs = form_specs(bundle_items, [bi for bi in bundle_items if not bi.optional])
    shown = [s for s in all_specs if s.key in {c.key for c in specs}] if chosen else all_specs
    context = {
        "bundle": bundle,
        "optional_items": [bi for bi in bundle_items if bi.optional],
        "chosen": chosen,
        "sections": webforms.render(shown, values, errors),
        "materials": [
            {"material": m, "errors": errors.get(f"materials.{m.code}", [])}
            for m in materials_of(chosen_items)
        ],
        "delivery": delivery,
        "delivery_methods": [(v, label) for v, label in DeliveryMethod.choices if v in offered],
        "item_errors": errors.get("items", []),
        "delivery_errors": {
            part: errors.get(f"delivery.{part}", []) for part in ("method", *DELIVERY_PARTS)
        },
        "error_list": _error_list(errors),
    }
    return render(request, "applications/apply.html", context, status=400 if errors else 200)


def _error_list(errors: dict[str, list[str]]) -> list[dict]:
    """The error summary: one link per message, to the field it is about."""
    items = []
    for key, messages in errors.items():
        if key.startswith("form."):
            anchor = webforms.html_id(key.removeprefix("form."))
        elif key.startswith("materials."):
            anchor = "m-" + key.removeprefix("materials.")
        elif key.startswith("delivery."):
            anchor = "d-" + key.removeprefix("delivery.")
        else:
            anchor = "main"
        items += [{"anchor": anchor, "message": message} for message in messages]
    return items


@login_required
def application_detail(request, pk):
    """An applicant's own application: its parts as a picture, their status, the timeline."""
    application = get_object_or_404(
        Application.objects.select_related("bundle"), pk=pk, applicant=request.user
    )
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
    picture = svg(nodes, dag, f"{application.bundle.name}：办理进度") if subtasks else ""
    return render(
        request,
        "applications/detail.html",
        {
            "application": application,
            "subtasks": subtasks,
            "events": application.events.select_related("subtask__item").order_by("at", "id"),
            "diagram": mark_safe(picture),  # noqa: S308  (built with escape() throughout)
        },
    )
