"""Rating a finished application, and reporting what could not be done."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import Application
from applications.models import ApplicationStatus as A
from applications.services import ActionNotAllowed, ApplicationInvalid
from portal import text as text_rules
from workdays.calendar import CalendarUnavailable, add_working_days

from .models import FollowUp, Rating

#: Every real-name 差评 is called back and answered within this many working days.
FOLLOW_UP_DAYS = 5
RATEABLE = (A.COMPLETED, A.PARTIALLY_COMPLETED, A.REJECTED)


def rate(application: Application, user, score, comment: str = "") -> Rating:
    if application.applicant_id != user.pk:
        raise Application.DoesNotExist
    if application.status not in RATEABLE:
        raise ActionNotAllowed(_("申请办结后才能评价。"))
    if str(score) not in {str(value) for value in Rating.Score.values}:
        raise ApplicationInvalid({"score": [_("请选择一项评价。")]})
    score = int(score)
    comment = _text(comment, "comment", 1000)
    try:
        with transaction.atomic():
            rating = Rating.objects.create(application=application, score=score, comment=comment)
            if rating.is_poor:
                _open(
                    FollowUp.Kind.POOR_RATING,
                    user,
                    application,
                    responsible_department(application),
                    f"{rating.get_score_display()}：{comment or _('（未填写意见）')}",
                )
    except IntegrityError:
        raise ActionNotAllowed(_("每个申请只能评价一次。")) from None
    return rating


def report_cannot_get_done(
    user, description: str, application: Application | None = None
) -> FollowUp:
    description = _text(description, "description", 2000)
    if text_rules.is_blank(description):
        raise ApplicationInvalid({"description": [_("请说明遇到的问题。")]})
    if application is not None and application.applicant_id != user.pk:
        raise Application.DoesNotExist
    # 办不成事 goes to the centre's supervisors, whichever department it concerns.
    return _open(FollowUp.Kind.CANNOT_GET_DONE, user, application, None, description)


def _text(value, field: str, max_length: int) -> str:
    try:
        return text_rules.clean(value, max_length)
    except ValidationError as exc:
        raise ApplicationInvalid({field: exc.messages}) from None


def responsible_department(application: Application):
    """The bundle's lead department, or the department of its first part."""
    if application.bundle.lead_department_id:
        return application.bundle.lead_department
    first = application.subtasks.select_related("department").order_by("id").first()
    return first.department if first else None


def _open(kind, user, application, department, description) -> FollowUp:
    today = timezone.localdate()
    try:
        deadline, note = add_working_days(today, FOLLOW_UP_DAYS), ""
    except CalendarUnavailable as exc:
        deadline, note = None, str(exc)
    return FollowUp.objects.create(
        kind=kind,
        reporter=user,
        application=application,
        department=department,
        description=description,
        deadline=deadline,
        deadline_note=note,
    )


def follow_ups_for(user):
    """A centre supervisor sees every follow-up; a department's supervisor, their own."""
    queryset = FollowUp.objects.select_related("department", "application__bundle", "reporter")
    if user.is_centre_supervisor:
        return queryset
    return queryset.filter(department__in=user.departments.all())


def answer(follow_up_id: int, user, resolution: str) -> FollowUp:
    """Record what was done; the person who reported it is told."""
    from notifications.services import notify

    resolution = _text(resolution, "resolution", 2000)
    if text_rules.is_blank(resolution):
        raise ApplicationInvalid({"resolution": [_("请填写处理结果。")]})
    with transaction.atomic():
        follow_up = follow_ups_for(user).select_for_update(of=("self",)).get(pk=follow_up_id)
        if follow_up.status == FollowUp.Status.ANSWERED:
            raise ActionNotAllowed(_("该事项已答复。"))
        follow_up.status = FollowUp.Status.ANSWERED
        follow_up.resolution = resolution[:2000]
        follow_up.handled_by = user
        follow_up.answered_at = timezone.now()
        follow_up.save()
        notify(follow_up.reporter, "follow_up_answered", follow_up.application, reason=resolution)
    return follow_up
