"""Figures for supervisors: per bundle and per department, over a period, in a constant
number of queries whatever the history (each figure is one GROUP BY over indexed columns)."""

import datetime
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db.models import Avg, Count, F, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from applications.models import OPEN_APPLICATION, OPEN_SUBTASK, Application, SubTask
from applications.models import ApplicationStatus as A
from applications.models import SubTaskStatus as S
from bundles.models import Bundle
from bundles.services import promised_days
from departments.models import Department
from feedback.models import Rating

GOOD = Rating.Score.SATISFIED  # 满意 or better counts towards the satisfaction index
FINISHED_WELL = (A.COMPLETED, A.PARTIALLY_COMPLETED)


@dataclass
class Row:
    code: str
    name: str
    received: int = 0
    completed: int = 0
    in_progress: int = 0
    overdue: int = 0
    average_days: float | None = None
    promised_days: float | None = None
    rated: int = 0
    satisfied: int = 0

    @property
    def satisfaction(self) -> float | None:
        return round(100 * self.satisfied / self.rated, 1) if self.rated else None


@dataclass
class Dashboard:
    start: datetime.datetime
    end: datetime.datetime
    bundles: list[Row] = field(default_factory=list)
    departments: list[Row] = field(default_factory=list)
    trend: list[tuple[str, list[int]]] = field(default_factory=list)


def period(days: int | None, today: datetime.date | None = None):
    """[start, end) in local time: the last ``days`` days, or everything."""
    today = today or timezone.localdate()
    tz = timezone.get_current_timezone()
    end = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(), tz)
    start = (
        end - datetime.timedelta(days=days) if days else datetime.datetime(2000, 1, 1, tzinfo=tz)
    )
    return start, end


def dashboard(start, end, department_ids=None, today=None) -> Dashboard:
    today = today or timezone.localdate()
    board = Dashboard(start=start, end=end)
    board.bundles = _by_bundle(start, end, today, department_ids)
    board.departments = _by_department(start, end, today, department_ids)
    board.trend = _trend(start, end, department_ids)
    return board


def _applications(start, end, department_ids):
    queryset = Application.objects.filter(submitted_at__gte=start, submitted_at__lt=end)
    if department_ids is not None:
        queryset = queryset.filter(subtasks__department__in=department_ids).distinct()
    return queryset


def _by_bundle(start, end, today, department_ids) -> list[Row]:
    figures = (
        _applications(start, end, department_ids)
        .values("bundle__code")
        .annotate(
            received=Count("id"),
            completed=Count("id", filter=Q(status__in=FINISHED_WELL)),
            in_progress=Count("id", filter=Q(status__in=OPEN_APPLICATION)),
            overdue=Count("id", filter=Q(status__in=OPEN_APPLICATION, deadline__lt=today)),
            average_days=Avg("working_days_taken", filter=Q(status__in=FINISHED_WELL)),
            rated=Count("rating"),
            satisfied=Count("rating", filter=Q(rating__score__gte=GOOD)),
        )
    )
    bundles = {b.code: b for b in Bundle.objects.published()}
    rows = []
    for entry in figures:
        code = entry.pop("bundle__code")
        bundle = bundles.get(code)
        rows.append(Row(
            code=code,
            name=bundle.name if bundle else code,
            promised_days=_promised(bundle) if bundle else None,
            **entry,
        ))  # fmt: skip
    return sorted(rows, key=lambda row: (-row.received, row.code))


#: Promised days by bundle version: a published version never changes, so this never goes stale.
_PROMISED: dict[int, int] = {}


def _promised(bundle) -> int:
    if bundle.pk not in _PROMISED:
        _PROMISED[bundle.pk] = promised_days(bundle)
    return _PROMISED[bundle.pk]


def _by_department(start, end, today, department_ids) -> list[Row]:
    subtasks = SubTask.objects.filter(created_at__gte=start, created_at__lt=end).exclude(
        status=S.CANCELLED
    )
    if department_ids is not None:
        subtasks = subtasks.filter(department__in=department_ids)
    figures = subtasks.values("department_id").annotate(
        received=Count("id"),
        completed=Count("id", filter=Q(status=S.APPROVED)),
        in_progress=Count("id", filter=Q(status__in=OPEN_SUBTASK)),
        overdue=Count("id", filter=Q(status__in=OPEN_SUBTASK, deadline__lt=today)),
        average_days=Avg("working_days_taken", filter=Q(status=S.APPROVED)),
        promised_days=Avg("time_limit_days"),
    )
    # Ratings are far fewer than sub-tasks: start from them.
    ratings = Rating.objects.filter(
        application__submitted_at__gte=start, application__submitted_at__lt=end
    )
    if department_ids is not None:
        ratings = ratings.filter(application__subtasks__department__in=department_ids)
    ratings = ratings.values(department_id=F("application__subtasks__department_id")).annotate(
        rated=Count("application", distinct=True),
        satisfied=Count("application", filter=Q(score__gte=GOOD), distinct=True),
    )
    rated = {r["department_id"]: r for r in ratings}
    names = dict(Department.objects.values_list("pk", "name"))
    codes = dict(Department.objects.values_list("pk", "code"))
    rows = []
    for entry in figures:
        pk = entry.pop("department_id")
        extra = rated.get(pk, {})
        rows.append(Row(
            code=codes[pk], name=names[pk], rated=extra.get("rated", 0),
            satisfied=extra.get("satisfied", 0), **entry,
        ))  # fmt: skip
    return sorted(rows, key=lambda row: (-row.received, row.code))


TREND_WEEKS = 26


def _trend(start, end, department_ids) -> list[tuple[str, list[int]]]:
    """Applications received and finished, week by week, over the period's last 26 weeks."""
    start = max(start, end - datetime.timedelta(weeks=TREND_WEEKS))
    applications = _applications(start, end, department_ids)
    received = dict(
        applications.annotate(week=TruncWeek("submitted_at"))
        .values("week")
        .annotate(n=Count("id"))
        .values_list("week", "n")
    )
    finished = dict(
        applications.filter(finished_at__isnull=False)
        .annotate(week=TruncWeek("finished_at"))
        .values("week")
        .annotate(n=Count("id"))
        .values_list("week", "n")
    )
    weeks = sorted(set(received) | set(finished))[-TREND_WEEKS:]
    return [
        (f"{timezone.localtime(week) if timezone.is_aware(week) else week:%m-%d}",
         [received.get(week, 0), finished.get(week, 0)])
        for week in weeks
    ]  # fmt: skip


# --- snapshots ----------------------------------------------------------------------------------
PERIOD_DAYS = {"7": 7, "30": 30, "90": 90, "365": 365, "all": None}


def snapshot_key(period_name: str, department_ids) -> str:
    scope = "centre" if department_ids is None else ",".join(map(str, sorted(department_ids)))
    return f"{period_name}|{scope}"


def cached_dashboard(period_name: str, department_ids=None, fresh: bool = False):
    """The period's figures as computed at most DASHBOARD_SNAPSHOT_SECONDS ago (the beat job
    keeps them warm), or computed now when asked for fresh ones; returns (board, computed_at)."""
    from .models import DashboardSnapshot

    key = snapshot_key(period_name, department_ids)
    now = timezone.now()
    if not fresh:
        oldest = now - datetime.timedelta(seconds=settings.DASHBOARD_SNAPSHOT_SECONDS)
        snapshot = DashboardSnapshot.objects.filter(key=key, computed_at__gte=oldest).first()
        if snapshot is not None:
            return _board_from(snapshot.data), snapshot.computed_at
    return refresh(period_name, department_ids), now


def refresh(period_name: str, department_ids=None) -> Dashboard:
    from .models import DashboardSnapshot

    start, end = period(PERIOD_DAYS[period_name])
    board = dashboard(start, end, department_ids)
    DashboardSnapshot.objects.update_or_create(
        key=snapshot_key(period_name, department_ids),
        defaults={"computed_at": timezone.now(), "data": _board_data(board)},
    )
    return board


def _board_data(board: Dashboard) -> dict:
    return {
        "start": board.start.isoformat(),
        "end": board.end.isoformat(),
        "bundles": [asdict(row) for row in board.bundles],
        "departments": [asdict(row) for row in board.departments],
        "trend": board.trend,
    }


def _board_from(data: dict) -> Dashboard:
    return Dashboard(
        start=datetime.datetime.fromisoformat(data["start"]),
        end=datetime.datetime.fromisoformat(data["end"]),
        bundles=[Row(**row) for row in data["bundles"]],
        departments=[Row(**row) for row in data["departments"]],
        trend=[(label, values) for label, values in data["trend"]],
    )


def scopes_in_use() -> list:
    """The centre, and each department supervisor's set of departments."""
    from accounts.models import User

    scopes = {None}
    for user in User.objects.filter(role=User.Role.DEPARTMENT_SUPERVISOR, is_active=True):
        ids = tuple(sorted(user.departments.values_list("pk", flat=True)))
        if ids:
            scopes.add(ids)
    return [None if scope is None else list(scope) for scope in scopes]
