"""People who use the portal: citizens, business users, window staff and administrators."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .validators import validate_credit_code, validate_mobile, validate_resident_id


class Enterprise(models.Model):
    """A business, by its unified social credit code; its users act for it."""

    credit_code = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, validators=[validate_credit_code]
    )
    name = models.CharField(_("企业名称"), max_length=100)

    class Meta:
        verbose_name = _("企业")
        verbose_name_plural = _("企业")
        ordering = ["name"]

    def __str__(self):
        return self.name


class User(AbstractUser):
    """An account. Citizens carry their real-name details; staff belong to departments."""

    class Role(models.TextChoices):
        NONE = "", _("申请人")
        CLERK = "clerk", _("窗口工作人员")
        DEPARTMENT_SUPERVISOR = "department_supervisor", _("部门督办人员")
        CENTRE_SUPERVISOR = "centre_supervisor", _("中心督办人员")

    real_name = models.CharField(_("真实姓名"), max_length=64, blank=True)
    id_number = models.CharField(
        _("居民身份证号码"), max_length=18, blank=True, validators=[validate_resident_id]
    )
    mobile = models.CharField(
        _("手机号码"), max_length=11, blank=True, validators=[validate_mobile]
    )
    enterprises = models.ManyToManyField(
        Enterprise, blank=True, related_name="members", verbose_name=_("所代表的企业")
    )
    #: Failed logins in a row, and until when the account is locked because of them.
    failed_logins = models.PositiveSmallIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
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

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.UniqueConstraint(
                fields=["id_number"],
                condition=~models.Q(id_number=""),
                name="unique_resident_id_number",
            )
        ]

    def __str__(self):
        return self.real_name or self.username

    @property
    def is_department_staff(self) -> bool:
        return bool(self.role) or self.departments.exists()

    @property
    def is_centre_supervisor(self) -> bool:
        return self.is_superuser or self.role == self.Role.CENTRE_SUPERVISOR

    @property
    def is_supervisor(self) -> bool:
        return self.is_centre_supervisor or self.role == self.Role.DEPARTMENT_SUPERVISOR
