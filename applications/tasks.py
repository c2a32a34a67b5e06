"""Celery tasks: small, idempotent nudges. Each takes ids and decides from the database."""

import datetime
import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from departments import connectors

from . import services
from .models import AT_DEPARTMENT, OPEN_APPLICATION, Application, SubTask
from .models import SubTaskStatus as S

log = logging.getLogger(__name__)

#: The database connection lost mid-task (a restart, a fail-over, a terminated backend): the
#: task re-reads all it needs and is safe to run twice, so it runs again after a short pause.
#: Otherwise it would end as failed, its message acknowledged, and the work would wait for
#: the reconciler.
RETRY_WHEN_THE_DATABASE_DROPS = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_kwargs": {"max_retries": 10},
}


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY_WHEN_THE_DATABASE_DROPS)
def advance_application(application_id: int) -> None:
    services.advance(application_id)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    **RETRY_WHEN_THE_DATABASE_DROPS,
)
def dispatch_subtask(self, subtask_id: int) -> None:
    outcome = services.dispatch(subtask_id)
    if not outcome.done:
        # Retries are counted on the sub-task row, not by Celery: the row survives a broker
        # that is emptied, and the reconciler picks the sub-task up again when it is due.
        raise self.retry(countdown=outcome.retry_in)


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY_WHEN_THE_DATABASE_DROPS)
def poll_subtask(subtask_id: int) -> None:
    subtask = (
        SubTask.objects.select_related("item", "department", "application__applicant")
        .filter(pk=subtask_id, status__in=AT_DEPARTMENT)
        .first()
    )
    if subtask is None or not subtask.case_ref:
        return
    connector = connectors.get(subtask.handling)
    if not connector.polls:
        return
    try:
        report = connector.fetch(services.polling_order(subtask), subtask.case_ref)
    except (connectors.TransientError, connectors.PermanentError) as exc:
        log.info("poll of sub-task %s failed: %s", subtask_id, exc)
        return
    services.apply_department_report(subtask_id, report)


@shared_task
def poll_open_cases(limit: int = 1000) -> int:
    """Ask department systems about cases not heard of for a poll interval."""
    due = timezone.now() - datetime.timedelta(
        seconds=settings.CELERY_BEAT_SCHEDULE["poll-open-cases"]["schedule"]
    )
    polling_kinds = [kind for kind, _label in connectors.choices() if connectors.get(kind).polls]
    ids = list(
        SubTask.objects.filter(status__in=AT_DEPARTMENT, handling__in=polling_kinds)
        .exclude(case_ref="")
        .filter(Q(polled_at__isnull=True) | Q(polled_at__lt=due))
        .order_by("polled_at")
        .values_list("pk", flat=True)[:limit]
    )
    for subtask_id in ids:
        poll_subtask.delay(subtask_id)
    return len(ids)


@shared_task
def reconcile(limit: int = 1000) -> dict[str, int]:
    """Find work whose message was lost and nudge it again.

    - ready sub-tasks whose dispatch is overdue (the message was lost, or the worker died);
    - applications the engine has not looked at since their sub-tasks changed (a finished
      sub-task whose advance was lost, or a submission whose first advance was lost).
    """
    now = timezone.now()
    stale = now - datetime.timedelta(seconds=settings.RECONCILE_STALE_SECONDS)
    ready = list(
        SubTask.objects.filter(status=S.READY)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=stale))
        .values_list("pk", flat=True)[:limit]
    )
    for subtask_id in ready:
        services.enqueue_dispatch([subtask_id])
    changed_since = SubTask.objects.filter(
        application=OuterRef("pk"), updated_at__gt=OuterRef("advanced_at")
    )
    lagging = list(
        Application.objects.filter(status__in=OPEN_APPLICATION, updated_at__lt=stale)
        .filter(Q(advanced_at__isnull=True) | Exists(changed_since))
        .values_list("pk", flat=True)[:limit]
    )
    for application_id in lagging:
        services.enqueue_advance(application_id)
    if ready or lagging:
        log.info("reconciler nudged %s sub-tasks and %s applications", len(ready), len(lagging))
    return {"subtasks": len(ready), "applications": len(lagging)}
