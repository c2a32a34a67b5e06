"""Window staff's work: their departments' queue, claiming, masked personal data, walk-ins."""

import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import services as application_services
from applications.models import OPEN_SUBTASK, WORKLIST, SubTask
from applications.services import ActionNotAllowed, ApplicationInvalid
from bundles.services import form_specs
from workdays.calendar import CalendarUnavailable, add_working_days

from .models import DisclosureLog

#: Kinds of field shown masked until a member of staff asks, and the asking is recorded.
MASKED_TYPES = {"id_number", "mobile", "bank_account"}
#: A sub-task is "due soon" when its deadline is at most this many working days away.
DUE_SOON_DAYS = 2


def mask(value: str) -> str:
    """110101********002X, 138****8000, 6222***********0123: enough to compare, not to use."""
    value = str(value)
    if len(value) <= 7:
        return "*" * len(value)
    keep_head = 6 if len(value) == 18 else 3
    return value[:keep_head] + "*" * (len(value) - keep_head - 4) + value[-4:]


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


def item_fields(subtask: SubTask) -> list[dict]:
    """The answers this item needs, and only those; personal identifiers masked."""
    specs = form_specs([_Placed(subtask)])
    rows = []
    for spec in specs:
        value = subtask.application.form.get(spec.key)
        masked = spec.type in MASKED_TYPES and value not in (None, "")
        rows.append(
            {
                "key": spec.key,
                "label": spec.label,
                "type": spec.type,
                "value": mask(value) if masked else value,
                "masked": masked,
            }
        )
    return rows


class _Placed:
    """Just enough of a BundleItem for ``form_specs``: the sub-task's item, required."""

    def __init__(self, subtask):
        self.pk = subtask.pk
        self.item = subtask.item


def disclose(subtask: SubTask, user, key: str) -> str:
    """Show one identifier in full, and record who saw it, when."""
    fields = {row["key"]: row for row in item_fields(subtask)}
    if key not in fields or not fields[key]["masked"]:
        raise ApplicationInvalid({"field": [_("本事项没有此字段。")]})
    DisclosureLog.objects.create(user=user, subtask=subtask, field=key)
    return subtask.application.form[key]


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
