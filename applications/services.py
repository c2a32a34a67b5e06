"""The domain rules of applications: views, the API, the admin and Celery tasks call these.

Locking rule: whatever changes an application or its sub-tasks first locks the application
row (``SELECT … FOR UPDATE``). Every change to one application is thereby serialised, so two
branches finishing at once cannot lose or double the join, and two clerks cannot both act on
one sub-task; locks are always taken in the same order, so they cannot deadlock.
"""

import datetime
import logging
import math
import random
import re
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import TransitionNotAllowed

from accounts import services as account_services
from accounts.models import Mandate
from accounts.validators import clean_mobile
from bundles import dag as dag_utils
from bundles.fieldtypes import clean_form
from bundles.models import FOUNDING_RESULT, Bundle, MaterialType
from bundles.services import (
    ChoiceError,
    application_dag,
    chosen_bundle_items,
    eligibility_errors,
    form_specs,
)
from departments import connectors
from departments.connectors import CaseOrder, CaseReport, PermanentError, TransientError
from portal import refusals
from portal import text as text_rules
from workdays import calendar

from . import department_view, engine
from .models import (
    AT_DEPARTMENT,
    OPEN_SUBTASK,
    Application,
    DeliveryMethod,
    Event,
    SubTask,
    Upload,
)
from .models import ApplicationStatus as A
from .models import SubTaskStatus as S

log = logging.getLogger(__name__)
Actor = Event.Actor
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Longest reason, note or explanation a person or a department may give.
REASON_LENGTH = 2000


#: The refusals of applying, under the names the views know them by.
Refused = refusals.Refused
ApplicationInvalid = refusals.Invalid
ActionNotAllowed = refusals.NotAllowed


# --- applying ---------------------------------------------------------------------------------
def create_application(
    applicant,
    bundle: str,
    form: dict | None = None,
    items=(),
    delivery: dict | None = None,
    *,
    enterprise: str | None = None,
    filed_by=None,
    submit: bool = False,
) -> Application:
    """A draft for ``applicant`` (submitted at once when ``submit``); nothing saved on error.

    For a bundle for enterprises the applicant acts for one of their enterprises (named by
    its credit code when they have several); its code and name fill the form.
    """
    code = bundle
    bundle = Bundle.objects.published().filter(code=code).first()
    if bundle is None:
        raise ApplicationInvalid(
            {"bundle": [_("没有名为“%(code)s”的在办一件事。") % {"code": code}]}
        )
    try:
        bundle_items = chosen_bundle_items(bundle, items)
    except ChoiceError as exc:
        raise ApplicationInvalid({"items": [str(exc)]}) from None
    errors: dict[str, list[str]] = {}
    acting_for, enterprise_errors = _enterprise_for(applicant, bundle, enterprise)
    errors.update(enterprise_errors)
    specs = [replace(s, required=False) for s in form_specs(bundle_items)]
    form = _as_enterprise(dict(form or {}), acting_for, specs)
    cleaned, form_errors = clean_form(specs, form)
    errors.update({f"form.{key}": messages for key, messages in form_errors.items()})
    errors.update(eligibility_errors(bundle, cleaned, timezone.localdate()))
    clean_delivery, delivery_errors = _clean_delivery(delivery, bundle.delivery_options)
    errors.update(delivery_errors)
    if errors:
        raise ApplicationInvalid(errors)
    with transaction.atomic():
        application = Application.objects.create(
            bundle=bundle,
            applicant=applicant,
            acting_for=acting_for,
            filed_by=filed_by,
            form=cleaned,
            chosen_items=sorted(set(items or ())),
            delivery=clean_delivery,
        )
        if submit:
            _submit_locked(application, actor_user=filed_by or applicant)
    return application


#: The form's fields that name the enterprise an application is filed for.
ENTERPRISE_FIELDS = {"enterprise.credit_code": "credit_code", "enterprise.name": "name"}


def _as_enterprise(form: dict, acting_for, specs) -> dict:
    """``form`` naming the enterprise the application is filed for, whatever was typed: the
    proven enterprise is the one the departments are told of."""
    if acting_for is None:
        return form
    known = {spec.key for spec in specs}
    return form | {
        key: getattr(acting_for, attribute)
        for key, attribute in ENTERPRISE_FIELDS.items()
        if key in known
    }


def _enterprise_for(user, bundle, credit_code):
    """The enterprise ``user`` files ``bundle`` for: one they have a proven mandate for.

    A bundle that founds an enterprise is filed by its founder as an individual; the mandate
    is made when the licence is issued.
    """
    if bundle.audience != Bundle.Audience.ENTERPRISE or bundle.founding_item_code:
        return None, {}
    mandates = list(user.mandates.select_related("enterprise"))
    proven = [m.enterprise for m in mandates if m.status == Mandate.Status.VERIFIED]
    pending = [m.enterprise for m in mandates if m.status == Mandate.Status.PENDING]
    if credit_code:
        code = str(credit_code).strip().upper()
        chosen = [e for e in proven if e.credit_code == code]
        if chosen:
            return chosen[0], {}
        if any(e.credit_code == code for e in pending):
            return None, {"enterprise": [MANDATE_PENDING]}
        return None, {"enterprise": [_("您不是该企业的经办人，请先在“我的账户”中申请代表该企业。")]}
    if len(proven) == 1:
        return proven[0], {}
    if proven:
        return None, {"enterprise": [_("您代表多个企业，请选择以哪个企业的名义办理。")]}
    if pending:
        return None, {"enterprise": [MANDATE_PENDING]}
    return None, {"enterprise": [_("企业事项须以企业身份办理：请先在“我的账户”中申请代表企业。")]}


MANDATE_PENDING = gettext_lazy(
    "您与该企业的经办关系尚待确认，暂不能以企业名义办理：请企业登记的法定代表人在线确认，"
    "或携营业执照原件和授权委托书到市场监管窗口核验。"
)


def _clean_delivery(delivery, offered=()) -> tuple[dict, dict[str, list[str]]]:
    offered = list(offered) or DeliveryMethod.values
    if delivery in (None, {}):
        default = DeliveryMethod.ELECTRONIC if DeliveryMethod.ELECTRONIC in offered else offered[0]
        return {"method": default}, {}
    if not isinstance(delivery, dict):
        return {}, {"delivery": [_('送达方式应为对象，如 {"method": "electronic"}。')]}
    method = delivery.get("method")
    if method not in offered:
        labels = "、".join(f"{m}（{DeliveryMethod(m).label}）" for m in offered)
        return {}, {"delivery.method": [_("请选择送达方式：%(m)s。") % {"m": labels}]}
    clean = {"method": method}
    errors = {}
    if method == DeliveryMethod.MAIL:
        for key, label in (
            ("recipient", _("收件人")),
            ("mobile", _("联系电话")),
            ("address", _("邮寄地址")),
        ):
            value = delivery.get(key)
            if not isinstance(value, str) or text_rules.is_blank(value):
                errors[f"delivery.{key}"] = [_("邮寄送达须填写%(label)s。") % {"label": label}]
                continue
            try:
                value = text_rules.clean(value, 200)
                clean[key] = clean_mobile(value) if key == "mobile" else value
            except ValidationError as exc:
                errors[f"delivery.{key}"] = [f"{label}：{m}" for m in exc.messages]
    elif method == DeliveryMethod.PICKUP and delivery.get("hall"):
        try:
            clean["hall"] = text_rules.clean(delivery["hall"], 100)
        except ValidationError as exc:
            errors["delivery.hall"] = [_("领取大厅：%(m)s") % {"m": m} for m in exc.messages]
    return clean, errors


def _reason(value, field: str = "reason") -> str:
    """A reason or note as given, trimmed; ApplicationInvalid naming ``field`` if unfit."""
    try:
        return text_rules.clean(value, REASON_LENGTH)
    except ValidationError as exc:
        raise ApplicationInvalid({field: exc.messages}) from None


def update_draft(application: Application, form: dict | None = None, items=None, delivery=None):
    """Save more of a draft; values given are checked, required ones only at submission."""
    if application.status != A.DRAFT:
        raise ActionNotAllowed(_("申请已提交，不能再修改。"))
    try:
        bundle_items = chosen_bundle_items(
            application.bundle, application.chosen_items if items is None else items
        )
    except ChoiceError as exc:
        raise ApplicationInvalid({"items": [str(exc)]}) from None
    errors = {}
    if form is not None:
        specs = [replace(s, required=False) for s in form_specs(bundle_items)]
        merged = _as_enterprise({**application.form, **form}, application.acting_for, specs)
        cleaned, form_errors = clean_form(specs, merged)
        errors.update({f"form.{k}": v for k, v in form_errors.items()})
        errors.update(eligibility_errors(application.bundle, cleaned, timezone.localdate()))
        application.form = cleaned
    if delivery is not None:
        application.delivery, delivery_errors = _clean_delivery(
            delivery, application.bundle.delivery_options
        )
        errors.update(delivery_errors)
    if errors:
        raise ApplicationInvalid(errors)
    if items is not None:
        application.chosen_items = sorted(set(items))
    application.save(update_fields=["form", "chosen_items", "delivery", "updated_at"])
    return application


def submit(application_id: int, user) -> Application:
    with transaction.atomic():
        application = _lock(application_id)
        if user.pk not in (application.applicant_id, application.filed_by_id):
            raise Application.DoesNotExist
        _submit_locked(application, actor_user=user)
    return application


def _submit_locked(application: Application, actor_user) -> None:
    if application.status != A.DRAFT:
        raise ActionNotAllowed(_("该申请已提交，请勿重复提交。"))
    bundle = application.bundle
    if bundle.state != Bundle.State.PUBLISHED:
        raise ActionNotAllowed(_("该一件事已下架，不再受理新的申请。"))
    if (
        application.acting_for_id
        and not application.applicant.mandates.filter(
            enterprise_id=application.acting_for_id, status=Mandate.Status.VERIFIED
        ).exists()
    ):
        raise ActionNotAllowed(MANDATE_PENDING)
    try:
        bundle_items = chosen_bundle_items(bundle, application.chosen_items)
    except ChoiceError as exc:
        raise ApplicationInvalid({"items": [str(exc)]}) from None
    specs = form_specs(bundle_items)
    cleaned, form_errors = clean_form(
        specs, _as_enterprise(application.form, application.acting_for, specs)
    )
    errors = {f"form.{key}": messages for key, messages in form_errors.items()}
    errors.update(eligibility_errors(bundle, cleaned, timezone.localdate()))
    errors.update(_missing_materials(application, bundle_items))
    if errors:
        raise ApplicationInvalid(errors)

    dag = application_dag(bundle, bundle_items)
    today = timezone.localdate()
    SubTask.objects.bulk_create(
        SubTask(
            application=application,
            item=bi.item,
            department=bi.item.department,
            depends_on=sorted(dag[bi.item.code]),
            handling=bi.item.department.handling,
            time_limit_days=bi.item.time_limit_days,
        )
        for bi in bundle_items
    )
    limits = {bi.item.code: bi.item.time_limit_days for bi in bundle_items}
    application.deadline, application.deadline_note = _deadline(
        today, dag_utils.longest_path(dag, limits)
    )
    application.form = cleaned
    application.pending_materials, application.pending_due = _to_follow(application, bundle_items)
    application.submit()
    application.save()
    application.number = f"YJS{today:%Y%m%d}{application.pk:08d}"
    application.save(update_fields=["number"])
    _record(
        application,
        A.DRAFT,
        A.SUBMITTED,
        Actor.CLERK if application.filed_by_id else Actor.CITIZEN,
        actor_user,
    )
    transaction.on_commit(lambda: enqueue_advance(application.pk))


def _missing_materials(application, bundle_items) -> dict[str, list[str]]:
    uploaded = set(application.uploads.values_list("material__code", flat=True))
    needed: dict[str, MaterialType] = {}
    for bi in bundle_items:
        for material in bi.item.materials.all():
            needed[material.code] = material
    return {
        f"materials.{code}": [_("请上传“%(name)s”。") % {"name": material.name}]
        for code, material in needed.items()
        if material.required and not material.may_follow_later and code not in uploaded
    }


def _to_follow(application, bundle_items) -> tuple[list[str], datetime.date | None]:
    """容缺受理: required materials that may come later and have not come yet, and the date
    they are due — no later than the shortest time limit of the items that need them."""
    uploaded = set(application.uploads.values_list("material__code", flat=True))
    limits: dict[str, int] = {}
    for bi in bundle_items:
        for material in bi.item.materials.all():
            if material.required and material.may_follow_later and material.code not in uploaded:
                limits[material.code] = min(limits.get(material.code, 999), bi.item.time_limit_days)
    if not limits:
        return [], None
    return sorted(limits), _deadline(timezone.localdate(), min(limits.values()))[0]


def _deadline(start: datetime.date, days: int) -> tuple[datetime.date | None, str]:
    """The date ``days`` working days after ``start``; none, with the reason, for a year
    whose holidays nobody has entered yet — never a guess, never a crash."""
    try:
        return calendar.add_working_days(start, days), ""
    except calendar.CalendarUnavailable as exc:
        return None, str(exc)


def _working_days(start: datetime.date, end: datetime.date) -> int | None:
    try:
        return calendar.working_days_between(start, end)
    except calendar.CalendarUnavailable:
        return None


def _resume_clock(subtask: SubTask) -> None:
    """The part's clock stopped while the applicant was awaited: push its deadline back."""
    if subtask.supplement_requested_at is None:
        return
    paused = _working_days(
        timezone.localdate(subtask.supplement_requested_at), timezone.localdate()
    )
    if not paused:
        return
    subtask.paused_days += paused
    if subtask.deadline:
        subtask.deadline = _deadline(subtask.deadline, paused)[0]


def _application_clock(application: Application, leaving: str, entering: str) -> None:
    """The application's clock stops while it waits for the applicant, however many of its
    parts do so at once: counted from entering that status to leaving it."""
    if entering == A.SUPPLEMENT_REQUESTED:
        application.awaiting_since = timezone.now()
    if leaving != A.SUPPLEMENT_REQUESTED or application.awaiting_since is None:
        return
    paused = _working_days(timezone.localdate(application.awaiting_since), timezone.localdate())
    application.awaiting_since = None
    if paused:
        application.paused_days += paused
        if application.deadline:
            application.deadline, application.deadline_note = _deadline(
                application.deadline, paused
            )


def _time_taken(start, end, paused: int) -> int | None:
    taken = _working_days(timezone.localdate(start), timezone.localdate(end))
    return None if taken is None else max(taken - paused, 0)


def withdraw(application_id: int, user, reason: str = "") -> Application:
    reason = _reason(reason)
    with transaction.atomic():
        application = _lock(application_id)
        if application.applicant_id != user.pk:
            raise Application.DoesNotExist
        if application.status not in (A.DRAFT, A.SUBMITTED, A.IN_PROGRESS, A.SUPPLEMENT_REQUESTED):
            raise ActionNotAllowed(_("申请已办结，不能撤回。"))
        why = reason or _("申请人撤回申请。")
        for subtask in application.subtasks.filter(status__in=OPEN_SUBTASK):
            _move(subtask, "cancel", Actor.CITIZEN, user, why, reason=why)
        before = application.status
        application.withdraw()
        application.outcome_reason = why
        application.save()
        _record(application, before, A.WITHDRAWN, Actor.CITIZEN, user, why)
    return application


def attach_material(application: Application, material_code: str, upload, user) -> Upload:
    """Store an uploaded material; the file's type is taken from its content, not its name."""
    from .uploads import check_upload

    material = MaterialType.objects.filter(code=material_code).first()
    bundle_items = chosen_bundle_items(application.bundle, application.chosen_items)
    allowed = {m.code for bi in bundle_items for m in bi.item.materials.all()}
    if material is None or material.code not in allowed:
        raise ApplicationInvalid(
            {"code": [_("本申请不需要材料“%(code)s”。") % {"code": material_code}]}
        )
    if application.status not in (A.DRAFT, A.SUPPLEMENT_REQUESTED, A.SUBMITTED, A.IN_PROGRESS):
        raise ActionNotAllowed(_("申请已结束，不能再上传材料。"))
    kind, digest = check_upload(upload, material)
    if material.code in application.pending_materials:
        application.pending_materials = [
            c for c in application.pending_materials if c != material.code
        ]
        if not application.pending_materials:
            application.pending_due = None
        application.save(update_fields=["pending_materials", "pending_due", "updated_at"])
    with transaction.atomic():
        stored = Upload.objects.create(
            application=application,
            material=material,
            file=upload,
            original_name=upload.name[:255],
            content_type=kind,
            size=upload.size,
            sha256=digest,
            uploaded_by=user,
        )
        # A material uploaded again replaces the earlier file: one copy per material.
        earlier = list(
            Upload.objects.filter(application=application, material=material).exclude(pk=stored.pk)
        )
        Upload.objects.filter(pk__in=[u.pk for u in earlier]).delete()
        transaction.on_commit(lambda: [u.file.delete(save=False) for u in earlier])
    return stored


def supply_supplement(application_id: int, user, note: str = "") -> Application:
    """The applicant has supplied what was missing: every part waiting for it resumes."""
    note = _reason(note, "note")
    with transaction.atomic():
        application = _lock(application_id)
        if application.applicant_id != user.pk:
            raise Application.DoesNotExist
        waiting = [st for st in _subtasks(application) if st.status == S.SUPPLEMENT_REQUESTED]
        if not waiting:
            raise ActionNotAllowed(_("当前没有需要补正的事项。"))
        missing = {}
        for subtask in waiting:
            for code in subtask.supplement_materials:
                fresh = application.uploads.filter(
                    material__code=code, uploaded_at__gte=subtask.supplement_requested_at
                )
                if not fresh.exists():
                    missing[f"materials.{code}"] = [_("请先上传需要补正的材料。")]
        if missing:
            raise ApplicationInvalid(missing)
        for subtask in waiting:
            _move(subtask, "resume", Actor.CITIZEN, user, note or _("申请人已补正材料。"))
        _advance_locked(application)
    return application


# --- the engine -------------------------------------------------------------------------------
def advance(application_id: int) -> list[int]:
    """Apply the engine's decision; return the ids of sub-tasks that became ready."""
    with transaction.atomic():
        application = _lock(application_id)
        if application.status not in (A.SUBMITTED, A.IN_PROGRESS, A.SUPPLEMENT_REQUESTED):
            return []
        return _advance_locked(application)


def _advance_locked(application: Application) -> list[int]:
    subtasks = {st.item.code: st for st in _subtasks(application)}
    dag = {code: frozenset(st.depends_on) for code, st in subtasks.items()}
    decision = engine.decide(dag, {code: st.status for code, st in subtasks.items()})
    for code in sorted(decision.cancel):
        subtask = subtasks[code]
        dead = [
            subtasks[p].item.name for p in subtask.depends_on if subtasks[p].status in engine.DEAD
        ]
        why = _("前置事项“%(items)s”未能办结，本事项无法继续办理。") % {"items": "、".join(dead)}
        _move(subtask, "cancel", Actor.ENGINE, None, why, reason=why)
    today = timezone.localdate()
    for code in sorted(decision.make_ready):
        subtask = subtasks[code]
        inputs = {}
        for pred in subtask.depends_on:
            inputs.update(subtasks[pred].inputs)
            inputs[pred] = subtasks[pred].outputs
        subtask.deadline = _deadline(today, subtask.time_limit_days)[0]
        _move(subtask, "make_ready", Actor.ENGINE, None, "", inputs=inputs)
    _move_application(application, decision.application_status, subtasks.values())
    application.advanced_at = timezone.now()
    application.save()
    ready = [subtasks[code].pk for code in sorted(decision.make_ready)]
    if ready:
        transaction.on_commit(lambda: enqueue_dispatch(ready))
    return ready


_APPLICATION_TRANSITIONS = {
    A.IN_PROGRESS: "start",
    A.SUPPLEMENT_REQUESTED: "await_supplement",
    A.COMPLETED: "complete",
    A.PARTIALLY_COMPLETED: "complete_partially",
    A.REJECTED: "reject",
}


def _move_application(application: Application, target: str, subtasks) -> None:
    before = application.status
    if before == target:
        return
    reason = ""
    if target in (A.PARTIALLY_COMPLETED, A.REJECTED):
        reason = "；".join(
            f"{st.item.name}：{st.reason}"
            for st in subtasks
            if st.status == S.REJECTED and st.reason
        )
        application.outcome_reason = reason
    _application_clock(application, before, target)
    getattr(application, _APPLICATION_TRANSITIONS[target])()
    if application.finished_at and application.submitted_at:
        application.working_days_taken = _time_taken(
            application.submitted_at, application.finished_at, application.paused_days
        )
    _record(application, before, target, Actor.ENGINE, None, reason)


# --- dispatching to departments ---------------------------------------------------------------
@dataclass(frozen=True)
class DispatchOutcome:
    done: bool
    retry_in: float | None = None


def dispatch(subtask_id: int) -> DispatchOutcome:
    """Hand a ready sub-task to its department; safe to call any number of times."""
    with transaction.atomic():
        subtask = _lock_subtask(subtask_id)
        if subtask is None or subtask.status != S.READY:
            return DispatchOutcome(done=True)
        connector = connectors.get(subtask.handling)
        if not connector.sends:
            _move(
                subtask,
                "dispatch",
                Actor.ENGINE,
                None,
                _("已进入“%(dept)s”窗口办理队列。") % {"dept": subtask.department.name},
            )
            return DispatchOutcome(done=True)
        order = case_order(subtask)
    # Outside any transaction: a slow department holds no lock and no open transaction.
    try:
        report = connector.send(order)
    except TransientError as exc:
        return _record_dispatch_failure(subtask_id, str(exc), permanent=False)
    except PermanentError as exc:
        return _record_dispatch_failure(subtask_id, str(exc), permanent=True)
    apply_department_report(subtask_id, report)
    return DispatchOutcome(done=True)


def case_order(subtask: SubTask) -> CaseOrder:
    """The case as sent to the department system: only what its item needs (the sending is
    recorded as a full view of each identifier in it)."""
    applicant = subtask.application.applicant
    return replace(
        polling_order(subtask),
        applicant={
            "name": applicant.real_name,
            "id_number": applicant.id_number,
            "mobile": applicant.mobile,
        },
        form=department_view.case_order_form(subtask),
        inputs=subtask.inputs,
        results=[
            {"key": spec.key, "label": spec.label, "type": spec.type}
            for spec in subtask.item.result_specs()
        ],
    )


def polling_order(subtask: SubTask) -> CaseOrder:
    """Where and how to reach the department about this part, with no personal data."""
    department = subtask.department
    return CaseOrder(
        department_code=department.code,
        base_url=department.base_url,
        secrets=department.signing_secrets,
        idempotency_key=str(subtask.idempotency_key),
        item_code=subtask.item.code,
        item_name=subtask.item.name,
        application_number=subtask.application.number or "",
        applicant={},
        form={},
        inputs={},
        callback_url=f"{settings.PORTAL_BASE_URL}/api/v1/departments/{department.code}/callbacks/",
    )


def retry_delay(attempt: int) -> float:
    """Exponential back-off with full jitter, so retries from many sub-tasks spread out."""
    ceiling = min(
        settings.DISPATCH_RETRY_MAX_SECONDS,
        settings.DISPATCH_RETRY_BASE_SECONDS * 2 ** (attempt - 1),
    )
    return random.uniform(ceiling / 2, ceiling)


def _record_dispatch_failure(subtask_id: int, error: str, permanent: bool) -> DispatchOutcome:
    with transaction.atomic():
        subtask = _lock_subtask(subtask_id)
        if subtask is None or subtask.status != S.READY:
            return DispatchOutcome(done=True)
        subtask.attempts += 1
        if permanent or subtask.attempts >= settings.DISPATCH_MAX_ATTEMPTS:
            why = _("部门业务系统无法接收（已尝试%(n)d次）：%(error)s") % {
                "n": subtask.attempts,
                "error": error,
            }
            _move(subtask, "fail", Actor.ENGINE, None, why, error=error[:2000])
            log.warning(
                "sub-task %s failed after %s attempts: %s", subtask_id, subtask.attempts, error
            )
            return DispatchOutcome(done=True)
        delay = retry_delay(subtask.attempts)
        subtask.last_error = error[:2000]
        subtask.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
        subtask.save()
        log.info(
            "sub-task %s: attempt %s failed (%s); next in %.1fs",
            subtask_id,
            subtask.attempts,
            error,
            delay,
        )
        return DispatchOutcome(done=False, retry_in=delay)


def apply_department_report(subtask_id: int, report: CaseReport) -> bool:
    """Follow what the department says of its case; repeated or stale reports change nothing."""
    with transaction.atomic():
        subtask = _lock_subtask(subtask_id)
        if subtask is None:
            return False
        if subtask.case_ref and subtask.case_ref != report.case_ref:
            log.warning(
                "sub-task %s: report for case %s, ours is %s",
                subtask_id,
                report.case_ref,
                subtask.case_ref,
            )
            return False
        steps = _steps_towards(subtask.status, report.status)
        outputs, problems = checked_results(subtask, report.outputs)
        if "approve" in steps and problems:
            # Approved without what the item must issue: staff take it over at the window.
            why = _("部门业务系统报告办结，但办理结果不完整：%(p)s") % {
                "p": "；".join(m for messages in problems.values() for m in messages)
            }
            if subtask.status == S.READY:
                _move(subtask, "dispatch", Actor.DEPARTMENT, None, "", case_ref=report.case_ref)
            _move(subtask, "fail", Actor.ENGINE, None, why, error=why[:2000])
            return True
        if subtask.status == S.READY:
            subtask.attempts += 1
        for step in steps:
            kwargs = {}
            if step == "dispatch":
                kwargs = {"case_ref": report.case_ref}
            elif step == "approve":
                kwargs = {"outputs": outputs}
            elif step == "reject":
                kwargs = {"reason": report.reason or _("部门未说明理由。")}
            why = report.reason if step == "reject" else ""
            _move(subtask, step, Actor.DEPARTMENT, None, why, **kwargs)
            if step == "approve":
                _issued(subtask)
        subtask.polled_at = timezone.now()
        subtask.save(update_fields=["polled_at", "updated_at"])
        if steps:
            _advance_locked(subtask.application)
        return bool(steps)


def _steps_towards(current: str, reported: str) -> list[str]:
    steps = []
    if current == S.READY:
        steps.append("dispatch")
        current = S.DISPATCHED
    if current not in AT_DEPARTMENT:
        return steps
    if reported == "accepted" and current == S.DISPATCHED:
        steps.append("accept")
    elif reported == "approved":
        steps += {
            S.DISPATCHED: ["accept", "approve"],
            S.ACCEPTED: ["approve"],
            S.SUPPLEMENT_REQUESTED: ["resume", "approve"],
        }[current]
    elif reported == "rejected":
        steps.append("reject")
    return steps


# --- staff ------------------------------------------------------------------------------------
STAFF_ACTIONS = {
    "accept": "accept",
    "request-supplement": "request_supplement",
    "approve": "approve",
    "reject": "reject",
}


def subtasks_for_staff(user):
    """The parts a member of staff may open: their departments' parts that have reached them.
    A part still waiting for its predecessors is not the department's yet (privacy.policy):
    its staff neither see, claim nor reveal anything of it."""
    if user.is_superuser:
        return SubTask.objects.all()
    # Concrete ids rather than a subquery: the planner then uses the per-department indexes.
    return SubTask.objects.filter(
        department__in=list(user.departments.values_list("pk", flat=True))
    ).exclude(status=S.WAITING)


def staff_action(
    subtask_id: int, user, action: str, reason: str = "", outputs=None, materials=()
) -> SubTask:
    """A clerk's 受理 / 补正 / 办结 / 不予办理 on a sub-task of one of their departments."""
    method = STAFF_ACTIONS.get(action)
    if method is None:
        raise ApplicationInvalid({"action": [_("未知的操作：%(a)s。") % {"a": action}]})
    application_id = (
        subtasks_for_staff(user).values_list("application_id", flat=True).get(pk=subtask_id)
    )
    errors = {}
    try:
        reason = text_rules.clean(reason, REASON_LENGTH)
    except ValidationError as exc:
        errors["reason"] = exc.messages
    else:
        if method in ("reject", "request_supplement") and text_rules.is_blank(reason):
            errors["reason"] = [_("请说明理由或需要补正的内容。")]
    outputs = outputs or {}
    if not isinstance(outputs, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int | float) for k, v in outputs.items()
    ):
        errors["outputs"] = [_('办理结果应为“名称: 值”的对象，如 {"certificate_number": "…"}。')]
    else:
        try:
            outputs = _clean_outputs(outputs)
        except ValidationError as exc:
            errors["outputs"] = exc.messages
    if errors:
        raise ApplicationInvalid(errors)
    with transaction.atomic():
        application = _lock(application_id)
        subtask = application.subtasks.select_related("item", "department").get(pk=subtask_id)
        subtask.application = application
        if subtask.handling != "manual":
            raise ActionNotAllowed(_("本事项由部门业务系统办理，窗口不能直接操作。"))
        kwargs = {"reason": reason} if method in ("reject", "request_supplement") else {}
        if method == "approve":
            outputs, problems = checked_results(subtask, outputs)
            if problems:
                raise ApplicationInvalid(problems)
            kwargs = {"outputs": outputs}
        if method == "request_supplement":
            known = set(subtask.item.materials.values_list("code", flat=True))
            unknown = sorted(set(materials or ()) - known)
            if unknown:
                raise ApplicationInvalid(
                    {"materials": [_("本事项不需要这些材料：%(c)s。") % {"c": "、".join(unknown)}]}
                )
            kwargs["materials"] = sorted(set(materials or ()))
        _move(subtask, method, Actor.CLERK, user, reason, **kwargs)
        if method == "approve":
            _issued(subtask)
        _advance_locked(application)
    return subtask


def checked_results(subtask: SubTask, outputs: dict) -> tuple[dict, dict[str, list[str]]]:
    """``outputs`` with the item's declared results checked like form fields (by the clerk's
    hand or a department system's report alike); other outputs pass as they are. A founding
    item's credit code must not be an established enterprise's."""
    specs = subtask.item.result_specs()
    declared = {spec.key for spec in specs}
    cleaned, problems = clean_form(specs, {k: v for k, v in outputs.items() if k in declared})
    problems = {f"outputs.{key}": messages for key, messages in problems.items()}
    if subtask.item.code == subtask.application.bundle.founding_item_code and not problems:
        conflict = account_services.founding_conflict(cleaned[FOUNDING_RESULT])
        if conflict:
            problems[f"outputs.{FOUNDING_RESULT}"] = [conflict]
    return {**{k: v for k, v in outputs.items() if k not in declared}, **cleaned}, problems


def _issued(subtask: SubTask) -> None:
    """What an approved item issues beyond its outputs: a founding item's licence makes the
    new enterprise, and its founder that enterprise's agent."""
    application = subtask.application
    if subtask.item.code != application.bundle.founding_item_code:
        return
    form = application.form
    application.acting_for = account_services.found_enterprise(
        application.applicant,
        subtask.outputs[FOUNDING_RESULT],
        name=str(form.get("enterprise.name", "")),
        legal_rep_name=str(form.get("legal_rep.name", "")),
        legal_rep_id=str(form.get("legal_rep.id_number", "")),
    )
    application.save(update_fields=["acting_for", "updated_at"])


def _clean_outputs(outputs: dict) -> dict:
    """A department's results: names and texts a person can read, numbers that are finite
    and of a sensible size (they are shown to the applicant and passed to later parts)."""
    clean = {}
    for name, value in outputs.items():
        name = text_rules.clean(name, 64)
        if text_rules.is_blank(name):
            raise ValidationError(_("办理结果的名称不能为空。"))
        if isinstance(value, str):
            value = text_rules.clean(value, 500)
        elif (
            isinstance(value, bool)
            or (isinstance(value, float) and not math.isfinite(value))
            or abs(value) >= 1e15
        ):
            raise ValidationError(_("办理结果“%(n)s”的数值超出范围。") % {"n": name})
        clean[name] = value
    return clean


def set_tracking_number(application_id: int, user, number: str) -> Application:
    """Staff of a department taking part record the parcel's tracking number (邮寄送达)."""
    try:
        number = text_rules.clean(number, 64)
    except ValidationError:
        number = ""
    if text_rules.is_blank(number) or CONTROL.search(number):
        raise ApplicationInvalid({"tracking_number": [_("请填写正确的邮寄单号。")]})
    with transaction.atomic():
        application = _lock(application_id)
        if (
            not user.is_superuser
            and not application.subtasks.filter(department__in=user.departments.all()).exists()
        ):
            raise Application.DoesNotExist
        if application.delivery.get("method") != DeliveryMethod.MAIL:
            raise ActionNotAllowed(_("申请人没有选择邮寄送达。"))
        application.tracking_number = number
        application.save(update_fields=["tracking_number", "updated_at"])
        from notifications.services import notify

        notify(application.applicant, "mailed", application, reason=number)
    return application


def retry_failed(subtask_id: int, user, to_manual: bool = False) -> SubTask:
    """Staff send a failed sub-task again, or take it over at the window."""
    application_id = (
        subtasks_for_staff(user).values_list("application_id", flat=True).get(pk=subtask_id)
    )
    with transaction.atomic():
        _lock(application_id)
        subtask = _lock_subtask(subtask_id)
        why = _("改为窗口人工办理。") if to_manual else _("工作人员重新推送。")
        _move(subtask, "switch_to_manual" if to_manual else "retry", Actor.CLERK, user, why)
        transaction.on_commit(lambda: enqueue_dispatch([subtask_id]))
    return subtask


# --- helpers ----------------------------------------------------------------------------------
def _lock(application_id: int) -> Application:
    return Application.objects.select_for_update().select_related("bundle").get(pk=application_id)


def _lock_subtask(subtask_id: int) -> SubTask | None:
    """Lock the sub-task's application, then load the sub-task (the locking rule's order)."""
    application_id = (
        SubTask.objects.filter(pk=subtask_id).values_list("application_id", flat=True).first()
    )
    if application_id is None:
        return None
    application = _lock(application_id)
    subtask = application.subtasks.select_related(
        "item", "department", "application__applicant"
    ).get(pk=subtask_id)
    subtask.application = application
    return subtask


def _subtasks(application: Application) -> list[SubTask]:
    return list(application.subtasks.select_related("item", "department"))


def _move(subtask: SubTask, transition: str, actor: str, user, why: str, **kwargs) -> None:
    before = subtask.status
    try:
        getattr(subtask, transition)(**kwargs)
    except TransitionNotAllowed:
        raise ActionNotAllowed(
            _("子事项当前状态为“%(status)s”，不能执行此操作。") % {"status": S(before).label}
        ) from None
    if transition == "resume":
        _resume_clock(subtask)
    if subtask.status in (S.APPROVED, S.REJECTED) and subtask.ready_at:
        subtask.working_days_taken = _time_taken(
            subtask.ready_at, subtask.finished_at, subtask.paused_days
        )
    subtask.save()
    _record(subtask.application, before, subtask.status, actor, user, why, subtask)


def _record(application, before, after, actor, user, reason="", subtask=None) -> None:
    Event.objects.create(
        application=application,
        subtask=subtask,
        actor=actor,
        user=user if user is not None and user.pk else None,
        from_status=before,
        to_status=after,
        reason=reason or "",
    )
    _tell_applicant(application, after, subtask, reason)


#: Which status changes the applicant hears of, as a message kind.
APPLICATION_NEWS = {
    A.SUBMITTED: "submitted",
    A.COMPLETED: "completed",
    A.PARTIALLY_COMPLETED: "partially_completed",
    A.REJECTED: "rejected",
}
SUBTASK_NEWS = {
    S.SUPPLEMENT_REQUESTED: "supplement_requested",
    S.APPROVED: "part_done",
    S.REJECTED: "part_rejected",
}


def _tell_applicant(application, status, subtask, reason) -> None:
    from notifications.services import notify

    kind = (SUBTASK_NEWS if subtask is not None else APPLICATION_NEWS).get(status)
    if kind is None:
        return
    context = {"reason": reason}
    if subtask is not None:
        context["item"] = subtask.item.name
        if subtask.outputs:
            context["outputs"] = "；".join(f"{k}：{v}" for k, v in subtask.outputs.items())
    notify(application.applicant, kind, application, **context)


def enqueue_advance(application_id: int) -> None:
    from .tasks import advance_application

    enqueue(advance_application, application_id)


def enqueue_dispatch(subtask_ids: list[int]) -> None:
    from .tasks import dispatch_subtask

    for subtask_id in subtask_ids:
        enqueue(dispatch_subtask, subtask_id)


def enqueue(task, *args) -> None:
    # The database already holds the truth; a broker that is down only delays the work,
    # which the reconciler picks up again. The caller's request must not fail for it.
    try:
        task.delay(*args)
    except Exception:
        log.exception("could not queue %s%s; the reconciler will retry", task.name, args)
