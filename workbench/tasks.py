import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from notifications.models import Message
from notifications.services import notify

from . import services

log = logging.getLogger(__name__)


@shared_task
def warn_due_soon() -> int:
    """Each morning: tell the staff of each department which of its parts are about to pass
    (or have passed) their time limit. Safe to run twice a day: one message a day each."""
    today = timezone.localdate()
    due = services.overdue_or_due_soon(today).select_related("item", "application__bundle")
    by_department: dict[int, list] = {}
    for subtask in due:
        by_department.setdefault(subtask.department_id, []).append(subtask)
    sent = 0
    for department_id, subtasks in by_department.items():
        lines = "；".join(
            f"{st.application.number} {st.item.name}（期限 {st.deadline:%m-%d}）"
            for st in subtasks[:20]
        )
        for clerk in services.clerks_of([department_id]):
            already = Message.objects.filter(
                user=clerk, kind="due_soon", created_at__date=today
            ).exists()
            if already:
                continue
            with transaction.atomic():
                notify(clerk, "due_soon", count=len(subtasks), reason=lines)
            sent += 1
    log.info("warned %s members of staff about parts near their time limit", sent)
    return sent
