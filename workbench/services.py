"""Window staff's work: their departments' queue and claiming."""

import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import services as application_services
from applications.models import OPEN_SUBTASK, WORKLIST, SubTask
from applications.services import ActionNotAllowed
from workdays.calendar import CalendarUnavailable, add_working_days

#: A sub-task is "due soon" when its deadline is at most this many working days away.
DUE_SOON_DAYS = 2


def due_soon_date(today: datetime.date | None = None) -> datetime.date:
    today = today or timezone.localdate()
    try:
        return add_working_days(today, DUE_SOON_DAYS)
    except CalendarUnavailable:
        # Near a year nobody has entered yet: count calendar days rather than say nothing.
        return today + datetime.timedelta(days=DUE_SOON_DAYS)


def worklist(user, status="", bundle="", due="", today=None):
    """The sub-tasks of the user's departments, open ones unless a status is asked for,
    by deadline (those without one last)."""
    today = today or timezone.localdate()
    queryset = application_services.subtasks_for_staff(user).select_related(
        "item", "department", "application__bundle", "application__applicant", "claimed_by"
    )
    queryset = queryset.filter(status__in=[status] if status else WORKLIST)
    if bundle:
        queryset = queryset.filter(application__bundle__code=bundle)
    if due == "overdue":
        queryset = queryset.filter(deadline__lt=today, status__in=OPEN_SUBTASK)
    elif due == "soon":
        queryset = queryset.filter(
            deadline__gte=today, deadline__lte=due_soon_date(today), status__in=OPEN_SUBTASK
        )
    return queryset.order_by(F("deadline").asc(nulls_last=True), "id")


def claim(subtask_id: int, user) -> SubTask:
    """Take a sub-task as one's own; a sub-task another clerk has claimed stays theirs."""
    with transaction.atomic():
        subtask = (
            application_services.subtasks_for_staff(user)
            .select_for_update(of=("self",))
            .select_related("claimed_by")
            .get(pk=subtask_id)
        )
        if subtask.claimed_by_id and subtask.claimed_by_id != user.pk:
            raise ActionNotAllowed(_("该事项已由%(name)s经办。") % {"name": subtask.claimed_by})
        SubTask.objects.filter(pk=subtask.pk).update(claimed_by=user, claimed_at=timezone.now())
    subtask.claimed_by = user
    return subtask


def staff_can_see_application(user, application) -> bool:
    return (
        user.is_superuser
        or application.subtasks.filter(department__in=user.departments.all()).exists()
    )


def clerks_of(department_ids):
    from accounts.models import User

    return User.objects.filter(departments__in=department_ids, is_active=True).distinct()


def overdue_or_due_soon(today=None):
    today = today or timezone.localdate()
    return SubTask.objects.filter(deadline__lte=due_soon_date(today), status__in=WORKLIST)
