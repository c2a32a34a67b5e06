"""Supervisors' pages: the follow-up queue, and the dashboard (with its CSV)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from applications.services import Refused
from applications.views import flash
from feedback import services as feedback_services
from feedback.models import FollowUp
from portal.paging import page_of
from workbench.views import staff_required

from . import charts, services


def supervisor_required(view):
    @staff_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_supervisor:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@supervisor_required
def follow_ups(request):
    status = request.GET.get("status", FollowUp.Status.OPEN)
    queryset = feedback_services.follow_ups_for(request.user)
    if status in FollowUp.Status.values:
        queryset = queryset.filter(status=status)
    return render(
        request,
        "supervision/follow_ups.html",
        {
            "follow_ups": page_of(request, queryset.order_by("deadline", "id")),
            "status": status,
            "today": timezone.localdate(),
        },
    )


@supervisor_required
def follow_up(request, pk):
    item = get_object_or_404(feedback_services.follow_ups_for(request.user), pk=pk)
    return render(request, "supervision/follow_up.html", {"item": item})


@supervisor_required
@require_POST
def answer(request, pk):
    try:
        feedback_services.answer(pk, request.user, request.POST.get("resolution", ""))
        messages.success(request, _("已答复，反映人将收到通知。"))
    except FollowUp.DoesNotExist:
        raise PermissionDenied from None
    except Refused as exc:
        flash(request, *exc.messages)
    return redirect("staff-follow-up", pk)


@supervisor_required
def dashboard(request):
    chosen = request.GET.get("period", "30")
    if chosen not in services.PERIOD_DAYS:
        chosen = "30"
    scope = None
    if not request.user.is_centre_supervisor:
        scope = list(request.user.departments.values_list("pk", flat=True))
    board, computed_at = services.cached_dashboard(chosen, scope, fresh="fresh" in request.GET)
    if request.GET.get("format") == "csv":
        return _csv(board, request.GET.get("table", "bundles"), chosen)
    periods = [
        ("7", _("近7天")), ("30", _("近30天")), ("90", _("近90天")),
        ("365", _("近一年")), ("all", _("全部")),
    ]  # fmt: skip
    context = {
        "board": board,
        "computed_at": computed_at,
        "period": chosen,
        "periods": periods,
        "charts": _charts(board),
    }
    return render(request, "supervision/dashboard.html", context)


def _charts(board) -> dict:
    pictures = {
        "bundle_counts": _counts(board.bundles, _("各一件事办理量"), "cb"),
        "department_counts": _counts(board.departments, _("各部门办理量"), "cd"),
        "bundle_days": charts.bar_chart(
            [(r.name, r.average_days) for r in board.bundles],
            title=_("平均办理用时与承诺时限（工作日）"),
            value_label=_("工作日"),
            id_prefix="bd",
            reference=[r.promised_days for r in board.bundles],
            reference_label=_("承诺时限"),
        ),
        "satisfaction": charts.bar_chart(
            [(r.name, r.satisfaction) for r in board.departments],
            title=_("各部门满意率（%）"),
            value_label="%",
            id_prefix="sd",
            max_value=100,
        ),
        "trend": charts.line_chart(
            board.trend,
            title=_("每周收件与办结"),
            id_prefix="tr",
            series_names=[_("收件"), _("办结")],
        ),
    }
    # The charts escape every text they draw.
    return {name: mark_safe(svg) for name, svg in pictures.items()}  # noqa: S308


def _counts(rows, title, prefix) -> str:
    return charts.grouped_bar_chart(
        [r.name for r in rows],
        [(_("收件"), [r.received for r in rows]), (_("办结"), [r.completed for r in rows]),
         (_("在办"), [r.in_progress for r in rows]), (_("超期"), [r.overdue for r in rows])],
        title=title, id_prefix=prefix,
    )  # fmt: skip


def _csv(board, table, chosen) -> HttpResponse:
    rows = board.departments if table == "departments" else board.bundles
    header = [
        _("代码"), _("名称"), _("收件"), _("办结"), _("在办"), _("超期"),
        _("平均用时（工作日）"), _("承诺时限（工作日）"), _("评价数"), _("满意率（%）"),
    ]  # fmt: skip
    body = [
        [r.code, r.name, r.received, r.completed, r.in_progress, r.overdue,
         None if r.average_days is None else round(r.average_days, 1),
         None if r.promised_days is None else round(r.promised_days, 1), r.rated, r.satisfaction]
        for r in rows
    ]  # fmt: skip
    response = HttpResponse(charts.to_csv(header, body), content_type="text/csv; charset=utf-8")
    name = "departments" if table == "departments" else "bundles"
    response["Content-Disposition"] = f'attachment; filename="{name}-{chosen}.csv"'
    return response
