from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from applications.models import Application
from applications.services import ApplicationInvalid, Refused
from applications.views import flash
from portal.ids import parse_id
from portal.throttling import rate_limited

from . import services


@login_required
@require_POST
@rate_limited("reports")
def rate(request, pk):
    """好差评 of an ended application."""
    application = get_object_or_404(Application, pk=pk, applicant=request.user)
    try:
        services.rate(
            application, request.user, request.POST.get("score"), request.POST.get("comment", "")
        )
        messages.success(request, _("感谢您的评价。"))
    except Refused as exc:
        flash(request, *exc.messages)
    return redirect("application-page", pk)


@login_required
@rate_limited("reports")
def report(request):
    """办不成事: say what could not be done; a supervisor answers within a few working days."""
    applications = Application.objects.filter(applicant=request.user).exclude(number=None)
    errors, description, chosen = {}, "", request.GET.get("application", "")
    if request.method == "POST":
        description = request.POST.get("description", "")
        chosen = request.POST.get("application", "")
        chosen_id = parse_id(chosen)
        application = applications.filter(pk=chosen_id).first() if chosen_id else None
        try:
            follow_up = services.report_cannot_get_done(request.user, description, application)
        except ApplicationInvalid as exc:
            errors = exc.errors
        else:
            messages.success(
                request,
                _("已收到您的反映（编号 %(n)d），我们会在 5 个工作日内答复。")
                % {"n": follow_up.pk},
            )
            return redirect("my-applications")
    return render(
        request,
        "feedback/report.html",
        {
            "applications": applications.select_related("bundle"),
            "errors": errors,
            "error_list": [
                {"href": "#description", "message": m} for m in errors.get("description", [])
            ],
            "description": description,
            "chosen": chosen,
        },
        status=400 if errors else 200,
    )
