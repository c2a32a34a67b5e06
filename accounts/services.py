"""Who may act for whom, and opening or claiming an account: the rules, called by the web
pages, the API, the workbench and the engine alike.

Acting for an enterprise needs proof: a mandate asked for online stays *pending* — it gives no
right to file anything — until the enterprise's recorded legal representative confirms it
online, or a market-regulation clerk has checked the business licence and the written
authorisation at a window. A founder's mandate is made when the portal issues the licence.
"""

import datetime
import hashlib
import hmac
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import TransitionNotAllowed

from portal.refusals import Invalid
from portal.throttling import within_limit
from privacy.crypto import lookup_hash
from privacy.policy import mask

from .models import Enterprise, Mandate, User, Verification
from .validators import clean_credit_code, clean_mobile, clean_resident_id

#: A refusal naming the fields it is about (portal.refusals.Invalid).
AccountRefused = Invalid


def _refuse(field: str, message: str) -> AccountRefused:
    return AccountRefused({field: [message]})


# --- mandates -------------------------------------------------------------------------------
def verified_enterprises(user):
    """The enterprises ``user`` has a proven mandate for."""
    return Enterprise.objects.filter(
        mandates__agent=user, mandates__status=Mandate.Status.VERIFIED
    ).order_by("name")


def mandate_of(user, enterprise) -> Mandate | None:
    return Mandate.objects.filter(agent=user, enterprise=enterprise).first()


def request_mandate(user, credit_code: str, name: str) -> Mandate:
    """``user`` asks to act for the enterprise with ``credit_code``.

    The enterprise's recorded legal representative needs no one's confirmation; anyone else's
    mandate stays pending until it is proven.
    """
    try:
        credit_code = clean_credit_code(credit_code)
    except ValidationError as exc:
        raise AccountRefused({"credit_code": exc.messages}) from None
    name = (name or "").strip()
    with transaction.atomic():
        enterprise, created = Enterprise.objects.get_or_create(
            credit_code=credit_code, defaults={"name": name[:100]}
        )
        if created and not name:
            raise _refuse("enterprise_name", _("请填写企业名称。"))
        mandate, _new = Mandate.objects.select_for_update(of=("self",)).get_or_create(
            agent=user, enterprise=enterprise
        )
        if mandate.status in (Mandate.Status.REFUSED, Mandate.Status.REVOKED):
            mandate.ask_again()
        if mandate.status == Mandate.Status.PENDING and enterprise.is_legal_rep(user):
            mandate.verify(Mandate.Proof.LEGAL_REP_SELF, by=user)
        mandate.save()
        if mandate.status == Mandate.Status.PENDING:
            _tell_legal_rep(mandate)
    return mandate


def _tell_legal_rep(mandate: Mandate) -> None:
    from notifications.services import notify

    enterprise = mandate.enterprise
    rep = User.objects.filter(
        id_number_hash=enterprise.legal_rep_id_hash or "-", is_active=True
    ).first()
    if rep is not None and rep.pk != mandate.agent_id and enterprise.is_legal_rep(rep):
        notify(
            rep,
            "mandate_requested",
            reason=_("%(agent)s 请求以“%(enterprise)s”的名义办事，请在“我的账户”中确认或拒绝。")
            % {"agent": mandate.agent.real_name, "enterprise": mandate.enterprise.name},
        )


def awaiting_legal_rep(user):
    """Pending mandates for enterprises whose recorded legal representative is ``user``."""
    if not (user.id_number_hash and user.mobile):
        return Mandate.objects.none()
    return Mandate.objects.filter(
        enterprise__legal_rep_id_hash=user.id_number_hash,
        enterprise__legal_rep_name=user.real_name,
        enterprise__legal_rep_mobile=user.mobile,
        status=Mandate.Status.PENDING,
    ).select_related("agent", "enterprise")


def _locked_mandate(mandate_id: int) -> Mandate | None:
    return (
        Mandate.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .filter(pk=mandate_id)
        .first()
    )


def answer_as_legal_rep(mandate_id: int, user, accept: bool, note: str = "") -> Mandate:
    """The legal representative confirms or refuses an agent online."""
    with transaction.atomic():
        mandate = _locked_mandate(mandate_id)
        if mandate is None or not mandate.enterprise.is_legal_rep(user):
            raise Mandate.DoesNotExist
        try:
            if accept:
                mandate.verify(Mandate.Proof.LEGAL_REP, by=user, note=note[:200])
            else:
                mandate.refuse(by=user, note=note[:200] or _("法定代表人未予确认。"))
        except TransitionNotAllowed:
            raise _refuse("mandate", _("该授权已处理。")) from None
        mandate.save()
    return mandate


def may_verify_at_window(user) -> bool:
    """Clerks of the enterprise-registration department (市场监管) check licences."""
    return (
        user.is_superuser
        or user.departments.filter(code=settings.ENTERPRISE_REGISTRY_DEPARTMENT).exists()
    )


def verify_at_window(
    mandate_id: int,
    clerk,
    accept: bool,
    legal_rep_name: str = "",
    legal_rep_id_number: str = "",
    note: str = "",
    checked: bool = False,
    legal_rep_mobile: str = "",
) -> Mandate:
    """A market-regulation clerk has seen the business licence and the authorisation.

    The licence names the legal representative: the clerk records it on the enterprise when it
    is not recorded yet (or has changed), so that later agents can be confirmed online.
    """
    if not clerk.may_verify_mandates:
        raise Mandate.DoesNotExist
    errors: dict[str, list[str]] = {}
    legal_rep_name = (legal_rep_name or "").strip()
    if accept:
        if not checked:
            errors["checked"] = [_("请确认已核验营业执照原件和授权委托书。")]
        if legal_rep_id_number or legal_rep_name or legal_rep_mobile:
            if not legal_rep_name or len(legal_rep_name) > 64:
                errors["legal_rep_name"] = [_("请填写营业执照上的法定代表人姓名。")]
            try:
                legal_rep_id_number = clean_resident_id(legal_rep_id_number)
            except ValidationError as exc:
                errors["legal_rep_id_number"] = exc.messages
            try:
                legal_rep_mobile = clean_mobile(legal_rep_mobile)
            except ValidationError as exc:
                errors["legal_rep_mobile"] = exc.messages
    elif not (note or "").strip():
        errors["note"] = [_("请说明未通过核验的理由。")]
    if errors:
        raise AccountRefused(errors)
    with transaction.atomic():
        mandate = _locked_mandate(mandate_id)
        if mandate is None:
            raise Mandate.DoesNotExist
        try:
            if accept:
                mandate.verify(Mandate.Proof.WINDOW, by=clerk, note=note[:200])
            else:
                mandate.refuse(by=clerk, note=note.strip()[:200])
        except TransitionNotAllowed:
            raise _refuse("mandate", _("该授权已处理。")) from None
        mandate.save()
        if accept and legal_rep_id_number:
            enterprise = mandate.enterprise
            enterprise.legal_rep_name = legal_rep_name
            enterprise.legal_rep_id_number = legal_rep_id_number
            enterprise.legal_rep_mobile = legal_rep_mobile
            enterprise.save()
    return mandate


def revoke(mandate_id: int, user) -> Mandate:
    """The agent gives a mandate up, or the legal representative withdraws it."""
    with transaction.atomic():
        mandate = _locked_mandate(mandate_id)
        if mandate is None or (
            mandate.agent_id != user.pk and not mandate.enterprise.is_legal_rep(user)
        ):
            raise Mandate.DoesNotExist
        try:
            mandate.revoke(by=user)
        except TransitionNotAllowed:
            raise _refuse("mandate", _("该授权已撤销或未生效。")) from None
        mandate.save()
    return mandate


def founding_conflict(credit_code: str) -> str | None:
    """Why a licence the portal issues may not name ``credit_code`` as a new enterprise, if
    it may not: an enterprise already established under that code is someone else's."""
    existing = Enterprise.objects.filter(credit_code=credit_code).first()
    if existing is not None and existing.is_established:
        return _(
            "统一社会信用代码 %(code)s 已属于已登记的企业“%(name)s”，不能作为新设立企业的代码。"
        ) % {"code": credit_code, "name": existing.name}
    return None


def found_enterprise(founder, credit_code: str, name: str, legal_rep_name="", legal_rep_id=""):
    """The portal has issued a new enterprise's licence: record the enterprise as the licence
    says, and make the founder its agent. An enterprise known only from someone's request to
    act for it (no legal representative, no proven agent) is filled in; an established one is
    refused (``founding_conflict``) before the licence is approved."""
    with transaction.atomic():
        enterprise, _created = Enterprise.objects.select_for_update(of=("self",)).get_or_create(
            credit_code=credit_code, defaults={"name": name[:100]}
        )
        if enterprise.is_established:
            raise Invalid({"outputs.credit_code": [founding_conflict(credit_code)]})
        enterprise.name = name[:100] or enterprise.name
        if legal_rep_id:
            enterprise.legal_rep_name = legal_rep_name[:64]
            enterprise.legal_rep_id_number = legal_rep_id
            # The founder's mobile is proven; anyone else's is recorded at a window.
            founder_is_rep = lookup_hash(legal_rep_id) == founder.id_number_hash
            enterprise.legal_rep_mobile = founder.mobile if founder_is_rep else ""
        enterprise.save()
        mandate, _new = Mandate.objects.select_for_update(of=("self",)).get_or_create(
            agent=founder, enterprise=enterprise
        )
        if mandate.status != Mandate.Status.VERIFIED:
            if mandate.status in (Mandate.Status.REFUSED, Mandate.Status.REVOKED):
                mandate.ask_again()
            mandate.verify(Mandate.Proof.FOUNDING, note=_("设立登记由本人申请办理。"))
            mandate.save()
    return enterprise


# --- registration and claiming a window account ---------------------------------------------
CODE_DIGITS = 6
CODE_MINUTES = 10
CODE_ATTEMPTS = 5


def _code_hash(verification_id: uuid.UUID, code: str) -> str:
    key = settings.LOOKUP_HASH_KEY.encode()
    return hmac.new(key, f"{verification_id}:{code}".encode(), hashlib.sha256).hexdigest()


def start_registration(data: dict) -> tuple[Verification, str]:
    """Checked registration data in; a verification to complete with the code sent by SMS.

    The answer is the same whatever the ID number matches — nothing, a window record whose
    name and mobile agree or not, a registered account — so it tells nothing about other
    people; every branch texts someone once, so not even the time taken differs. A code is
    sent only where completing is allowed: to a new applicant's mobile, or to the mobile
    recorded at the window when name and mobile agree with the record. The holder of a
    registered account, or of a window record asked for with other details, is warned.
    """
    verification = Verification(purpose=Verification.Purpose.REGISTER, data=dict(data))
    verification.expires_at = timezone.now() + datetime.timedelta(minutes=CODE_MINUTES)
    existing = User.objects.with_id_number(data["id_number"]).first()
    send_to = None
    if existing is None:
        send_to = data["mobile"]
    elif not existing.has_usable_password():
        verification.claims = existing
        if existing.real_name == data["real_name"] and existing.mobile == data["mobile"]:
            send_to = existing.mobile
        else:
            _text(existing.mobile, _("认领提醒"), CLAIM_WARNING)
    else:
        _text(existing.mobile, _("注册提醒"), REGISTERED_WARNING)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    verification.id = uuid.uuid4()
    # Where no code is sent, the stored hash matches no code anyone could type.
    verification.code_hash = _code_hash(verification.id, code if send_to else secrets.token_hex())
    verification.save()
    if send_to:
        _text(
            send_to,
            _("注册验证码"),
            _("您的一件事平台注册验证码为 %(code)s，%(m)d 分钟内有效。请勿告诉他人。")
            % {"code": code, "m": CODE_MINUTES},
        )
    return verification, _("验证码已发送至手机 %(mobile)s，%(m)d 分钟内有效。") % {
        "mobile": mask(data["mobile"]),
        "m": CODE_MINUTES,
    }


CLAIM_WARNING = gettext_lazy(
    "有人使用您的身份证号码申请认领您在窗口办理业务时的账户，但信息不符，未能认领。"
    "如非本人操作，请忽略。"
)
REGISTERED_WARNING = gettext_lazy(
    "有人使用您的身份证号码申请注册一件事平台账户。您已注册，可直接登录；如非本人操作，请忽略。"
)


def _text(mobile: str, subject: str, body: str) -> None:
    """Text ``mobile`` now, within the per-number limit (so nobody can flood a phone through
    the registration form); a number past its limit is quietly not texted."""
    from notifications.senders import send_sms

    if mobile and within_limit("sms", lookup_hash(mobile)):
        send_sms(mobile, str(subject), str(body))


def complete_registration(verification_id, code: str) -> User:
    """The code is right: open the account, or take the window account over with its
    applications. Every failure says the same thing."""
    wrong = _refuse("code", _("验证码不正确或已过期，请重新获取。"))
    code = (code or "").strip()
    with transaction.atomic():
        verification = (
            Verification.objects.select_for_update(of=("self",))
            .select_related("claims")
            .filter(pk=verification_id, purpose=Verification.Purpose.REGISTER, used_at=None)
            .first()
        )
        if (
            verification is None
            or verification.expires_at < timezone.now()
            or verification.attempts >= CODE_ATTEMPTS
        ):
            raise wrong
        right = hmac.compare_digest(verification.code_hash, _code_hash(verification.id, code))
        if not right:
            # Counted in this (committed) transaction: guessing has a limit.
            verification.attempts += 1
            verification.save(update_fields=["attempts"])
        else:
            user = _open_account(verification)
    if not right:
        raise wrong
    data = verification.data
    if data.get("credit_code"):
        request_mandate(user, data["credit_code"], data.get("enterprise_name", ""))
    return user


def _open_account(verification: Verification) -> User:
    data = verification.data
    user = verification.claims or User()
    user.username = data["username"]
    user.real_name = data["real_name"]
    user.id_number = data["id_number"]
    user.mobile = data["mobile"]
    user.email = data.get("email", "")
    user.password = data["password_hash"]
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise _refuse("username", _("该用户名或身份证号码已注册。")) from None
    verification.used_at = timezone.now()
    verification.save(update_fields=["used_at"])
    return user
