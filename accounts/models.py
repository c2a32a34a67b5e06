"""People who use the portal: citizens, business users, window staff and administrators, the
enterprises they act for, and the proof that they may."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from privacy.crypto import lookup_hash
from privacy.fields import EncryptedJSONField, EncryptedTextField

from .validators import validate_credit_code, validate_mobile, validate_resident_id


class Enterprise(models.Model):
    """A business, by its unified social credit code; agents act for it once proven."""

    credit_code = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, validators=[validate_credit_code]
    )
    name = models.CharField(_("企业名称"), max_length=100)
    #: The legal representative as recorded by market regulation (or by the licence the portal
    #: issued): the one person who may confirm an agent online.
    legal_rep_name = models.CharField(_("法定代表人姓名"), max_length=64, blank=True)
    legal_rep_id_number = EncryptedTextField(
        _("法定代表人身份证号码"), blank=True, validators=[validate_resident_id]
    )
    legal_rep_id_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    #: The legal representative's mobile as recorded with the licence (at a window, or the
    #: founder's own when the founder is the legal representative): an account confirms agents
    #: only when its SMS-verified mobile is this one — knowing an ID number proves nothing.
    legal_rep_mobile = models.CharField(
        _("法定代表人手机号码"), max_length=11, blank=True, validators=[validate_mobile]
    )

    class Meta:
        verbose_name = _("企业")
        verbose_name_plural = _("企业")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.legal_rep_id_hash = lookup_hash(self.legal_rep_id_number)
        if kwargs.get("update_fields") and "legal_rep_id_number" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "legal_rep_id_hash"}
        super().save(*args, **kwargs)

    def is_legal_rep(self, user) -> bool:
        """Whether ``user`` is the legal representative as recorded: the same ID number, name
        and mobile (an account's mobile is proven by the code texted to it)."""
        return (
            bool(self.legal_rep_id_hash and self.legal_rep_mobile)
            and self.legal_rep_id_hash == user.id_number_hash
            and self.legal_rep_name == user.real_name
            and self.legal_rep_mobile == user.mobile
        )

    @property
    def is_established(self) -> bool:
        """Known to the registry already: a legal representative recorded, or an agent proven.
        A licence the portal issues may not name such an enterprise as a new one."""
        return (
            bool(self.legal_rep_id_hash)
            or self.mandates.filter(status=Mandate.Status.VERIFIED).exists()
        )


class PortalUserManager(UserManager):
    def with_id_number(self, id_number: str):
        """Accounts whose resident ID number is ``id_number`` (found by its keyed hash)."""
        return self.filter(id_number_hash=lookup_hash(id_number)) if id_number else self.none()


class User(AbstractUser):
    """An account. Citizens carry their real-name details; staff belong to departments."""

    class Role(models.TextChoices):
        NONE = "", _("申请人")
        CLERK = "clerk", _("窗口工作人员")
        DEPARTMENT_SUPERVISOR = "department_supervisor", _("部门督办人员")
        CENTRE_SUPERVISOR = "centre_supervisor", _("中心督办人员")

    real_name = models.CharField(_("真实姓名"), max_length=64, blank=True)
    #: Stored encrypted; found through ``id_number_hash`` (``User.objects.with_id_number``).
    id_number = EncryptedTextField(
        _("居民身份证号码"), blank=True, validators=[validate_resident_id]
    )
    id_number_hash = models.CharField(max_length=64, blank=True, editable=False)
    mobile = models.CharField(
        _("手机号码"), max_length=11, blank=True, validators=[validate_mobile]
    )
    enterprises = models.ManyToManyField(
        Enterprise,
        through="Mandate",
        through_fields=("agent", "enterprise"),
        blank=True,
        related_name="members",
        verbose_name=_("所代表的企业"),
    )
    role = models.CharField(_("岗位"), max_length=24, choices=Role.choices, blank=True, default="")
    hall = models.ForeignKey(
        "departments.ServiceHall",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("所在大厅"),
    )
    departments = models.ManyToManyField(
        "departments.Department",
        blank=True,
        related_name="staff",
        verbose_name=_("所属部门"),
        help_text=_("窗口工作人员只能看到并办理所属部门的子事项。"),
    )

    objects = PortalUserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_hash"],
                condition=~models.Q(id_number_hash=""),
                name="unique_resident_id_number",
            )
        ]

    def __str__(self):
        return self.real_name or self.username

    def save(self, *args, **kwargs):
        self.id_number_hash = lookup_hash(self.id_number)
        if kwargs.get("update_fields") and "id_number" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "id_number_hash"}
        password_changed = self._password is not None
        super().save(*args, **kwargs)
        if password_changed:
            from .tokens import revoke_all

            revoke_all(self)

    @property
    def is_department_staff(self) -> bool:
        return bool(self.role) or self.departments.exists()

    @property
    def is_centre_supervisor(self) -> bool:
        return self.is_superuser or self.role == self.Role.CENTRE_SUPERVISOR

    @property
    def is_supervisor(self) -> bool:
        return self.is_centre_supervisor or self.role == self.Role.DEPARTMENT_SUPERVISOR

    @property
    def may_verify_mandates(self) -> bool:
        """Clerks of the enterprise-registration department (市场监管) check business
        licences and authorisations at the window."""
        return (
            self.is_superuser
            or self.departments.filter(code=settings.ENTERPRISE_REGISTRY_DEPARTMENT).exists()
        )


class Mandate(models.Model):
    """That ``agent`` may act for ``enterprise`` (经办授权), and how that was proven.

    A mandate asked for online is *pending* and gives no right to act: the enterprise's
    recorded legal representative confirms it online, or a market-regulation clerk checks the
    business licence and the written authorisation at a window. A founder's mandate is made
    when the portal issues the new enterprise's licence.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("待确认")
        VERIFIED = "verified", _("已确认")
        REFUSED = "refused", _("未通过")
        REVOKED = "revoked", _("已撤销")

    class Proof(models.TextChoices):
        REQUESTED = "", _("申请人自述")
        LEGAL_REP = "legal_rep", _("法定代表人在线确认")
        LEGAL_REP_SELF = "legal_rep_self", _("本人为登记的法定代表人")
        WINDOW = "window", _("窗口核验营业执照和授权委托书")
        FOUNDING = "founding", _("本平台办理设立登记")

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="mandates",
        verbose_name=_("经办人"),
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="mandates", verbose_name=_("企业")
    )
    status = FSMField(
        _("状态"), default=Status.PENDING, choices=Status.choices, protected=True, db_index=True
    )
    proof = models.CharField(
        _("确认方式"), max_length=16, choices=Proof.choices, blank=True, default=""
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    requested_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("确认人"),
    )

    class Meta:
        verbose_name = _("企业经办授权")
        verbose_name_plural = _("企业经办授权")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "enterprise"], name="one_mandate_per_agent")
        ]

    def __str__(self):
        return f"{self.agent} → {self.enterprise}（{self.get_status_display()}）"

    @transition(field=status, source=[Status.PENDING, Status.REFUSED], target=Status.VERIFIED)
    def verify(self, proof: str, by=None, note: str = ""):
        self.proof = proof
        self.decided_by = by
        self.decided_at = timezone.now()
        self.note = note

    @transition(field=status, source=Status.PENDING, target=Status.REFUSED)
    def refuse(self, by, note: str):
        self.decided_by = by
        self.decided_at = timezone.now()
        self.note = note

    @transition(field=status, source=[Status.VERIFIED, Status.PENDING], target=Status.REVOKED)
    def revoke(self, by, note: str = ""):
        self.decided_by = by
        self.decided_at = timezone.now()
        self.note = note

    @transition(field=status, source=[Status.REFUSED, Status.REVOKED], target=Status.PENDING)
    def ask_again(self):
        self.requested_at = timezone.now()
        self.decided_at = None
        self.decided_by = None
        self.proof = ""
        self.note = ""


class Verification(models.Model):
    """A step that waits for a one-time code sent by SMS (opening or claiming an account).

    Only a keyed hash of the code is kept; the data it completes (a password hash, an ID
    number) is stored encrypted.
    """

    class Purpose(models.TextChoices):
        REGISTER = "register", _("注册或认领窗口账户")

    id = models.UUIDField(primary_key=True, editable=False)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    data = EncryptedJSONField(default=dict)
    claims = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("短信验证")
        verbose_name_plural = _("短信验证")

    def __str__(self):
        return f"{self.get_purpose_display()} · {self.created_at:%Y-%m-%d %H:%M}"
