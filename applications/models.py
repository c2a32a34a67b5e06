"""An applicant's one application for a bundle, its department sub-tasks and their history.

The two status machines are declared here, next to their models, and nothing else sets a
status field: every change goes through a transition, and ``ConcurrentTransitionMixin`` makes
a save fail when another process changed the status since the row was read.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from privacy.fields import EncryptedJSONField


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    IN_PROGRESS = "in_progress", _("办理中")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("待补正")
    COMPLETED = "completed", _("已办结")
    PARTIALLY_COMPLETED = "partially_completed", _("部分办结")
    REJECTED = "rejected", _("不予办理")
    WITHDRAWN = "withdrawn", _("已撤回")


class SubTaskStatus(models.TextChoices):
    WAITING = "waiting", _("等待前置事项")
    READY = "ready", _("待推送")
    DISPATCHED = "dispatched", _("已推送部门")
    ACCEPTED = "accepted", _("已受理")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("待补正")
    APPROVED = "approved", _("已办结")
    REJECTED = "rejected", _("不予办理")
    CANCELLED = "cancelled", _("已取消")
    FAILED = "failed", _("推送失败")


class DeliveryMethod(models.TextChoices):
    MAIL = "mail", _("邮寄送达")
    PICKUP = "pickup", _("窗口领取")
    ELECTRONIC = "electronic", _("电子证照")


A = ApplicationStatus
S = SubTaskStatus
OPEN_APPLICATION = [A.SUBMITTED, A.IN_PROGRESS, A.SUPPLEMENT_REQUESTED]
OPEN_SUBTASK = [S.WAITING, S.READY, S.DISPATCHED, S.ACCEPTED, S.SUPPLEMENT_REQUESTED, S.FAILED]
#: Sub-task statuses in which the department has the case (staff act, or the system is polled).
AT_DEPARTMENT = [S.DISPATCHED, S.ACCEPTED, S.SUPPLEMENT_REQUESTED]
#: What a department's worklist shows unless asked otherwise: its parts that are open and
#: have reached it.
WORKLIST = [S.READY, S.DISPATCHED, S.ACCEPTED, S.SUPPLEMENT_REQUESTED, S.FAILED]


class Application(ConcurrentTransitionMixin, models.Model):
    number = models.CharField(_("受理编号"), max_length=32, unique=True, null=True, blank=True)
    bundle = models.ForeignKey(
        "bundles.Bundle",
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("一件事"),
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("申请人"),
    )
    acting_for = models.ForeignKey(
        "accounts.Enterprise",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("代表企业"),
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="filed_applications",
        verbose_name=_("代办人员"),
    )
    #: The applicant's answers: personal data, stored encrypted.
    form = EncryptedJSONField(_("表单"), default=dict, blank=True)
    chosen_items = models.JSONField(_("选办事项"), default=list, blank=True)
    delivery = models.JSONField(_("送达方式"), default=dict, blank=True)
    status = FSMField(_("状态"), default=A.DRAFT, choices=A.choices, protected=True, db_index=True)
    outcome_reason = models.TextField(_("结果说明"), blank=True)
    tracking_number = models.CharField(_("邮寄单号"), max_length=64, blank=True)
    #: 容缺受理: materials accepted as missing at the window, to be supplied online, and by when.
    pending_materials = models.JSONField(_("容缺待补材料"), default=list, blank=True)
    pending_due = models.DateField(_("容缺补交期限"), null=True, blank=True)
    #: Working days from submission to the end, the clock stopped while the applicant was awaited.
    working_days_taken = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    paused_days = models.PositiveSmallIntegerField(default=0, editable=False)
    #: Since when the application waits for the applicant (补正), while it does.
    awaiting_since = models.DateTimeField(null=True, blank=True, editable=False)
    deadline = models.DateField(_("承诺办结日期"), null=True, blank=True)
    deadline_note = models.CharField(_("时限说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    #: When the engine last looked at this application; the reconciler nudges stale ones.
    advanced_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("申请")
        verbose_name_plural = _("申请")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "advanced_at"], name="application_reconcile"),
            # The dashboard reads a period of applications from this index alone.
            models.Index(
                fields=["submitted_at"],
                include=["bundle", "status", "deadline", "working_days_taken", "finished_at"],
                name="application_period",
            ),
        ]

    def __str__(self):
        return self.number or _("草稿 #%(id)s") % {"id": self.pk}

    @transition(field=status, source=A.DRAFT, target=A.SUBMITTED)
    def submit(self):
        self.submitted_at = timezone.now()

    @transition(field=status, source=[A.SUBMITTED, A.SUPPLEMENT_REQUESTED], target=A.IN_PROGRESS)
    def start(self):
        pass

    @transition(field=status, source=[A.SUBMITTED, A.IN_PROGRESS], target=A.SUPPLEMENT_REQUESTED)
    def await_supplement(self):
        pass

    @transition(field=status, source=OPEN_APPLICATION, target=A.COMPLETED)
    def complete(self):
        self.finished_at = timezone.now()

    @transition(field=status, source=OPEN_APPLICATION, target=A.PARTIALLY_COMPLETED)
    def complete_partially(self):
        self.finished_at = timezone.now()

    @transition(field=status, source=OPEN_APPLICATION, target=A.REJECTED)
    def reject(self):
        self.finished_at = timezone.now()

    @transition(field=status, source=[A.DRAFT, *OPEN_APPLICATION], target=A.WITHDRAWN)
    def withdraw(self):
        self.finished_at = timezone.now()


#: Words for the outputs departments commonly report; any other key is shown as it is.
OUTPUT_LABELS = {
    "certificate_number": _("证书编号"),
    "issued_at": _("发证日期"),
    "household_number": _("户号"),
    "number": _("编号"),
    "card_number": _("卡号"),
    "insurance_number": _("参保编号"),
}


class SubTask(ConcurrentTransitionMixin, models.Model):
    """One department's part of an application: one per chosen item."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="subtasks", verbose_name=_("申请")
    )
    item = models.ForeignKey(
        "bundles.ServiceItem", on_delete=models.PROTECT, verbose_name=_("事项")
    )
    department = models.ForeignKey(
        "departments.Department",
        on_delete=models.PROTECT,
        related_name="subtasks",
        verbose_name=_("承办部门"),
    )
    #: Item codes this one waits for: the bundle's DAG as it stood at submission.
    depends_on = models.JSONField(_("前置事项"), default=list, blank=True)
    #: Connector kind, copied from the department at submission; staff may switch to manual.
    handling = models.CharField(_("办理方式"), max_length=32)
    status = FSMField(_("状态"), default=S.WAITING, choices=S.choices, protected=True)
    #: Sent to the department so that a repeated dispatch opens no second case.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case_ref = models.CharField(_("部门案件编号"), max_length=64, blank=True)
    #: Results of earlier items and of this one (certificate numbers, later ID numbers):
    #: stored encrypted like the form.
    inputs = EncryptedJSONField(_("前置事项结果"), default=dict, blank=True)
    outputs = EncryptedJSONField(_("办理结果"), default=dict, blank=True)
    reason = models.TextField(_("说明"), blank=True)
    #: Codes of the materials a supplement request asks for, and when it was asked.
    supplement_materials = models.JSONField(_("需补正的材料"), default=list, blank=True)
    supplement_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    attempts = models.PositiveIntegerField(_("推送次数"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)
    deadline = models.DateField(_("承诺办结日期"), null=True, blank=True, db_index=True)
    #: The item's promised time limit when this part was created (items may change later).
    time_limit_days = models.PositiveSmallIntegerField(_("承诺时限（工作日）"), default=0)
    #: Working days spent waiting for the applicant (补正): the clock stops meanwhile.
    paused_days = models.PositiveSmallIntegerField(default=0, editable=False)
    working_days_taken = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    ready_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="claimed_subtasks",
        verbose_name=_("经办人"),
    )
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("子事项")
        verbose_name_plural = _("子事项")
        ordering = ["application_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "item"], name="one_subtask_per_item")
        ]
        indexes = [
            models.Index(fields=["department", "status"], name="subtask_queue"),
            models.Index(fields=["status", "next_attempt_at"], name="subtask_reconcile"),
            # The worklist: a department's open parts in deadline order, however long the
            # history of finished ones grows.
            models.Index(
                fields=["department", "deadline", "id"],
                condition=models.Q(status__in=WORKLIST),
                name="subtask_worklist",
            ),
            # The dashboard reads a period of sub-tasks from this index alone.
            models.Index(
                fields=["created_at"],
                include=[
                    "department",
                    "status",
                    "deadline",
                    "working_days_taken",
                    "time_limit_days",
                ],
                name="subtask_period",
            ),
            # Ratings by department: from an application to its departments, index only.
            models.Index(
                fields=["application"], include=["department"], name="subtask_departments"
            ),
        ]

    def __str__(self):
        return f"{self.application} · {self.item}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_SUBTASK

    @property
    def labelled_outputs(self) -> list[tuple[str, str]]:
        return [(str(OUTPUT_LABELS.get(key, key)), value) for key, value in self.outputs.items()]

    @transition(field=status, source=S.WAITING, target=S.READY)
    def make_ready(self, inputs):
        self.inputs = inputs
        self.ready_at = self.next_attempt_at = timezone.now()

    @transition(field=status, source=S.READY, target=S.DISPATCHED)
    def dispatch(self, case_ref=""):
        self.case_ref = case_ref
        self.next_attempt_at = None
        self.last_error = ""

    @transition(field=status, source=S.DISPATCHED, target=S.ACCEPTED)
    def accept(self):
        pass

    @transition(field=status, source=S.ACCEPTED, target=S.SUPPLEMENT_REQUESTED)
    def request_supplement(self, reason, materials=()):
        self.reason = reason
        self.supplement_materials = list(materials)
        self.supplement_requested_at = timezone.now()

    @transition(field=status, source=S.SUPPLEMENT_REQUESTED, target=S.ACCEPTED)
    def resume(self):
        pass

    @transition(field=status, source=S.ACCEPTED, target=S.APPROVED)
    def approve(self, outputs):
        self.outputs = outputs
        self.finished_at = timezone.now()

    @transition(field=status, source=AT_DEPARTMENT, target=S.REJECTED)
    def reject(self, reason):
        self.reason = reason
        self.finished_at = timezone.now()

    @transition(field=status, source=OPEN_SUBTASK, target=S.CANCELLED)
    def cancel(self, reason):
        self.reason = reason
        self.next_attempt_at = None
        self.finished_at = timezone.now()

    @transition(field=status, source=[S.READY, *AT_DEPARTMENT], target=S.FAILED)
    def fail(self, error):
        self.last_error = error
        self.next_attempt_at = None

    @transition(field=status, source=S.FAILED, target=S.READY)
    def retry(self):
        self.attempts = 0
        self.next_attempt_at = timezone.now()

    @transition(field=status, source=S.FAILED, target=S.READY)
    def switch_to_manual(self):
        self.handling = "manual"
        self.attempts = 0
        self.case_ref = ""
        self.next_attempt_at = timezone.now()


class Event(models.Model):
    """One status change, never edited: who did it, when, from what, to what, and why."""

    class Actor(models.TextChoices):
        CITIZEN = "citizen", _("申请人")
        CLERK = "clerk", _("窗口工作人员")
        DEPARTMENT = "department", _("部门业务系统")
        ENGINE = "engine", _("系统")
        ADMIN = "admin", _("管理员")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    subtask = models.ForeignKey(
        SubTask, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=16, choices=Actor.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32)
    reason = models.TextField(blank=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_status or '∅'} → {self.to_status}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("events are append-only")

    @property
    def to_status_label(self) -> str:
        """The new status in words: a sub-task's or the application's."""
        statuses = SubTaskStatus if self.subtask_id else ApplicationStatus
        return (
            statuses(self.to_status).label if self.to_status in statuses.values else self.to_status
        )


def upload_path(instance, filename):
    # The stored name is random: the applicant's file name is kept in the row only.
    return f"applications/{instance.application_id}/{uuid.uuid4().hex}"


class Upload(models.Model):
    """A material uploaded once for an application, whatever number of items need it."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="uploads")
    material = models.ForeignKey("bundles.MaterialType", on_delete=models.PROTECT)
    file = models.FileField(upload_to=upload_path)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("已上传材料")
        verbose_name_plural = _("已上传材料")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an Idempotency-Key, returned again on a retry."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    #: The answer as sent (it may echo the form): stored encrypted.
    response = EncryptedJSONField(null=True, default=None)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="unique_idempotency_key")
        ]

    def __str__(self):
        return self.key


class WorkerHeartbeat(models.Model):
    """Written by each Celery worker every few seconds; /healthz reads it."""

    hostname = models.CharField(max_length=255, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return self.hostname
